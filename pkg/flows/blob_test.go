package flows_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testtsa"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// A Timestamper given to BlobSign countersigns the blob signature: the
// envelope carries a token from a real TSA over its signature value, which
// verifies against the TSA's root.
func TestBlobSignTimestampHook(t *testing.T) {
	w := newWorld()
	defer w.close()
	tsa := testtsa.New(t)
	file := filepath.Join(w.dir, "sbom.json")
	if err := os.WriteFile(file, []byte(`{"sbom": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{tsa.Root()}
	tsc := &timestamp.Client{URL: tsa.URL, Roots: roots}
	signed, err := flows.BlobSign(context.Background(), flows.BlobSignOptions{Signer: w.signer, Path: file, Timestamper: tsc.Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	found, err := flows.BlobInspect(signed.SignatureFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Envelope.TimestampToken) == 0 {
		t.Fatal("the envelope carries no timestamp token")
	}
	raw, err := os.ReadFile(signed.SignatureFile)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Signature string }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(env.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := timestamp.Verify(found.Envelope.TimestampToken, sig, roots); err != nil {
		t.Fatalf("the token does not stamp the signature: %v", err)
	}
	r := flows.BlobVerify(flows.BlobVerifyOptions{Verifier: w.verifier, Path: file, SignatureFile: signed.SignatureFile})
	if r.Err != nil {
		t.Fatalf("a timestamped blob signature does not verify: %v", r.Err)
	}

	// A TSA that cannot be reached fails the signing, and nothing is written.
	tsa.Close()
	out := filepath.Join(w.dir, "unstamped.sig")
	_, err = flows.BlobSign(context.Background(), flows.BlobSignOptions{Signer: w.signer, Path: file, SignatureOut: out, Timestamper: tsc.Timestamp})
	if err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Fatalf("signing with an unreachable TSA: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a failed timestamp left a signature file")
	}
}

// zeros reads n zero bytes, from no memory of its own.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// Signing hashes the input as a stream: what it allocates does not grow
// with the input (256 MiB here, through a few MiB at most).
func TestBlobSignMemoryIsConstant(t *testing.T) {
	w := newWorld()
	defer w.close()
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	signed, err := flows.BlobSign(context.Background(), flows.BlobSignOptions{Signer: w.signer, Path: flows.Stdin, Input: &zeros{size},
		SignatureOut: filepath.Join(w.dir, "zeros.sig")})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if signed.Blob.Size != size {
		t.Fatalf("signed %d bytes, want %d", signed.Blob.Size, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("signing %d MiB allocated %d MiB: the input is not streamed", size>>20, alloc>>20)
	}
}
