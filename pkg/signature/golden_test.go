package signature_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

var update = flag.Bool("update", false, "rewrite the golden envelopes and expectations in testdata (keys are made only when missing)")

// Signatures are randomized (ECDSA and RSA-PSS alike), so a golden envelope
// is pinned by what is not random: its decoded protected header, payload and
// unprotected header must equal the .json expectations byte for byte, both for
// the committed envelope and for a new one made from the committed key.
var goldenCases = []struct {
	name    string
	keyType nvcrypto.KeyType
	ca      bool
	req     signature.SignRequest
}{
	{"es256", nvcrypto.ECDSAP256, true, signature.SignRequest{
		Target:       target,
		Annotations:  map[string]string{"org.opencontainers.image.source": "https://example.com/net-monitor", "io.nv2.build": "42"},
		SigningTime:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Expiry:       time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC),
		SigningAgent: "nv2/0.1.0",
	}},
	{"ps256", nvcrypto.RSA2048, false, signature.SignRequest{
		Target:       target,
		SigningTime:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)),
		SigningAgent: "nv2/0.1.0",
	}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join("testdata", tc.name)
			if *update {
				writeGolden(t, base, tc.keyType, tc.ca, tc.req)
			}
			key, err := nvcrypto.ParsePrivateKey(readFile(t, base+".key"))
			if err != nil {
				t.Fatal(err)
			}
			chain, err := nvcrypto.ParseCertificates(readFile(t, base+".crt"))
			if err != nil {
				t.Fatal(err)
			}
			fresh := sign(t, newSigner(t, &nvcrypto.Credentials{Key: key, Chain: chain}), tc.req)
			for name, env := range map[string][]byte{"committed": readFile(t, base+".jws"), "fresh": fresh} {
				if _, err := signature.Verify(env); err != nil {
					t.Fatalf("%s envelope: Verify: %v", name, err)
				}
				for part, got := range decodedParts(t, env) {
					if want := readFile(t, base+"."+part+".json"); !bytes.Equal(got, want) {
						t.Errorf("%s envelope: %s\n got: %s\nwant: %s", name, part, got, want)
					}
				}
			}
		})
	}
}

// decodedParts returns the protected header and payload as signed, and the
// unprotected header as it appears in the envelope.
func decodedParts(t *testing.T, env []byte) map[string][]byte {
	t.Helper()
	var raw struct {
		Payload, Protected string
		Header             json.RawMessage
	}
	if err := json.Unmarshal(env, &raw); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"protected": b64decode(t, raw.Protected), "payload": b64decode(t, raw.Payload), "header": raw.Header}
}

func writeGolden(t *testing.T, base string, kt nvcrypto.KeyType, ca bool, req signature.SignRequest) {
	t.Helper()
	if _, err := os.Stat(base + ".key"); os.IsNotExist(err) {
		c, err := nvcrypto.Generate(nvcrypto.GenerateOptions{
			CommonName: "nv2 golden " + base[len("testdata/"):], KeyType: kt, CA: ca,
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Validity: 20 * 365 * 24 * time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, err := nvcrypto.EncodePrivateKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, base+".key", keyPEM) // 0600; git checks it out 0644, so tests read it with ParsePrivateKey
		writeFile(t, base+".crt", nvcrypto.EncodeCertificates(c.Chain))
	}
	key, err := nvcrypto.ParsePrivateKey(readFile(t, base+".key"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := nvcrypto.ParseCertificates(readFile(t, base+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	env := sign(t, newSigner(t, &nvcrypto.Credentials{Key: key, Chain: chain}), req)
	writeFile(t, base+".jws", env)
	for part, b := range decodedParts(t, env) {
		writeFile(t, base+"."+part+".json", b)
	}
	// The golden envelope also seeds the fuzzer.
	corpus := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", env)
	writeFile(t, filepath.Join("testdata", "fuzz", "FuzzVerify", "golden-"+filepath.Base(base)), []byte(corpus))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./pkg/signature -run TestGolden -update` to make it)", err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	perm := os.FileMode(0o644)
	if filepath.Ext(path) == ".key" {
		perm = 0o600
	}
	if err := nvcrypto.WriteFileAtomic(path, b, perm, true); err != nil {
		t.Fatal(err)
	}
}
