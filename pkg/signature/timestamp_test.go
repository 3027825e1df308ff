package signature_test

import (
	"bytes"
	"context"
	stdcrypto "crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/signature"
	nx509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/tspclient-go"

	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// timestampCases are the key types whose hash differs: the token's imprint
// must use the signature algorithm's hash.
var timestampCases = []struct {
	keyType nvcrypto.KeyType
	hash    stdcrypto.Hash
}{
	{nvcrypto.ECDSAP256, stdcrypto.SHA256},
	{nvcrypto.ECDSAP384, stdcrypto.SHA384},
	{nvcrypto.ECDSAP521, stdcrypto.SHA512},
	{nvcrypto.RSA2048, stdcrypto.SHA256},
}

// A signature made with the real TSA carries a token that stamps its
// signature value with the algorithm's hash, at a time within the chain's
// validity; nv2 and notation-core-go read the same token.
func TestSignWithTimestamp(t *testing.T) {
	tsa := testtsa.New(t)
	roots := []*x509.Certificate{tsa.Root()}
	client := &timestamp.Client{URL: tsa.URL, Roots: roots}
	for _, tc := range timestampCases {
		t.Run(string(tc.keyType), func(t *testing.T) {
			c := credentials(t, tc.keyType, true)
			before := time.Now().Truncate(time.Second)
			env, err := newSigner(t, c).SignContext(context.Background(), signature.SignRequest{
				Target: target, SigningAgent: "nv2/0.1.0", Timestamper: client.Timestamp,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := signature.Verify(env)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got.SignatureValue, split(t, env).Signature) {
				t.Error("SignatureValue is not the envelope's signature")
			}
			if got.TimestampToken == nil {
				t.Fatal("no timestamp token in the envelope")
			}
			ts, err := timestamp.Verify(got.TimestampToken, got.SignatureValue, roots)
			if err != nil {
				t.Fatalf("timestamp.Verify: %v", err)
			}
			if ts.Hash != tc.hash {
				t.Errorf("token hash = %v, want %v (the %s signature's)", ts.Hash, tc.hash, got.Algorithm)
			}
			if ts.Time.Before(before) || ts.Time.After(time.Now()) {
				t.Errorf("stamped at %s, not during signing", ts.Time)
			}
			if err := ts.Within(got.Chain); err != nil {
				t.Errorf("Within the signing chain: %v", err)
			}

			// notation-core-go parses the envelope and finds the same token
			// over the same signature; the Notary Project's verification of it
			// (tspclient-go, then the timestamping certificate rules) agrees.
			parsed, err := notation.ParseEnvelope(spec.MediaTypeEnvelope, env)
			if err != nil {
				t.Fatalf("notation-core-go ParseEnvelope: %v", err)
			}
			content, err := parsed.Verify()
			if err != nil {
				t.Fatalf("notation-core-go Verify: %v", err)
			}
			si := content.SignerInfo
			if !bytes.Equal(si.UnsignedAttributes.TimestampSignature, got.TimestampToken) || !bytes.Equal(si.Signature, got.SignatureValue) {
				t.Fatal("notation-core-go reads another token or signature")
			}
			notationTime := notationVerifyTimestamp(t, si.UnsignedAttributes.TimestampSignature, si.Signature, tsa.Root())
			if !notationTime.Equal(ts.Time) {
				t.Errorf("notation's time %s, nv2's %s", notationTime, ts.Time)
			}
		})
	}
}

// notationVerifyTimestamp verifies a token as the Notary Project's verifier
// does with its libraries, and returns its time.
func notationVerifyTimestamp(t *testing.T, token, sig []byte, root *x509.Certificate) time.Time {
	t.Helper()
	signed, err := tspclient.ParseSignedToken(token)
	if err != nil {
		t.Fatalf("tspclient-go ParseSignedToken: %v", err)
	}
	info, err := signed.Info()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := info.Validate(sig)
	if err != nil {
		t.Fatalf("tspclient-go TSTInfo.Validate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	chain, err := signed.Verify(context.Background(), x509.VerifyOptions{Roots: pool, CurrentTime: ts.Value})
	if err != nil {
		t.Fatalf("tspclient-go SignedToken.Verify: %v", err)
	}
	if err := nx509.ValidateTimestampingCertChain(chain); err != nil {
		t.Fatalf("notation-core-go ValidateTimestampingCertChain: %v", err)
	}
	return ts.Value
}

// An envelope notation-core-go signs with a timestamp from the real TSA is
// read by nv2, whose timestamp verification accepts its token.
func TestNotationTimestampVerifiedByNv2(t *testing.T) {
	tsa := testtsa.New(t)
	pool := x509.NewCertPool()
	pool.AddCert(tsa.Root())
	payload := fmt.Appendf(nil, `{"targetArtifact":{"mediaType":%q,"digest":%q,"size":%d}}`, target.MediaType, target.Digest, target.Size)
	for _, tc := range timestampCases {
		t.Run(string(tc.keyType), func(t *testing.T) {
			c := credentials(t, tc.keyType, true)
			ls, err := notation.NewLocalSigner(c.Chain, c.Key)
			if err != nil {
				t.Fatal(err)
			}
			ne, err := notation.NewEnvelope(spec.MediaTypeEnvelope)
			if err != nil {
				t.Fatal(err)
			}
			env, err := ne.Sign(&notation.SignRequest{
				Payload:       notation.Payload{ContentType: spec.MediaTypePayload, Content: payload},
				Signer:        ls,
				SigningTime:   time.Now(),
				SigningScheme: notation.SigningSchemeX509,
				Timestamper:   tsa.Timestamper(),
				TSARootCAs:    pool,
			})
			if err != nil {
				t.Fatalf("notation-core-go Sign with a timestamp: %v", err)
			}
			got, err := signature.Verify(env)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			ts, err := timestamp.Verify(got.TimestampToken, got.SignatureValue, []*x509.Certificate{tsa.Root()})
			if err != nil {
				t.Fatalf("timestamp.Verify of notation's token: %v", err)
			}
			if ts.Hash != tc.hash {
				t.Errorf("notation stamped with %v, nv2 would with %v", ts.Hash, tc.hash)
			}
		})
	}
}

// Signing fails, with the timestamp error inside, when the TSA cannot give a
// token that verifies; no envelope without its requested timestamp is made.
func TestSignTimestampFailures(t *testing.T) {
	tsa := testtsa.New(t)
	other := credentials(t, nvcrypto.ECDSAP256, true).Chain[1] // a CA that is not the TSA's
	signer := newSigner(t, credentials(t, nvcrypto.ECDSAP256, true))
	downURL := tsa.URL
	cases := []struct {
		name string
		ts   signature.Timestamper
		want error
	}{
		{"untrusted TSA", (&timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{other}}).Timestamp, timestamp.ErrUntrusted},
		{"TSA down", func(ctx context.Context, sig []byte, h stdcrypto.Hash) ([]byte, error) {
			tsa.Close()
			return (&timestamp.Client{URL: downURL, Roots: []*x509.Certificate{tsa.Root()}}).Timestamp(ctx, sig, h)
		}, timestamp.ErrUnreachable},
		{"no token", func(context.Context, []byte, stdcrypto.Hash) ([]byte, error) { return nil, nil }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, err := signer.SignContext(context.Background(), signature.SignRequest{Target: target, Timestamper: tc.ts})
			if err == nil || env != nil {
				t.Fatalf("SignContext = %d bytes, %v; want an error", len(env), err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("SignContext = %v; want %v", err, tc.want)
			}
		})
	}
}

// The token is unsigned: a token moved from another envelope still parses,
// and the timestamp check catches it; a header that is not base64 is refused.
func TestTimestampHeader(t *testing.T) {
	tsa := testtsa.New(t)
	roots := []*x509.Certificate{tsa.Root()}
	c := credentials(t, nvcrypto.ECDSAP256, true)
	client := &timestamp.Client{URL: tsa.URL, Roots: roots}
	stamped, err := newSigner(t, c).SignContext(context.Background(), signature.SignRequest{Target: target, Timestamper: client.Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	token := split(t, stamped).Header[spec.HeaderTimestampSignature]
	plain := sign(t, newSigner(t, c), signature.SignRequest{Target: target})

	withHeader := func(v any) []byte {
		p := split(t, plain)
		p.Header[spec.HeaderTimestampSignature] = v
		return p.join(t, nil)
	}
	cases := []struct {
		name      string
		env       []byte
		wantParse error // of signature.Verify
		wantToken bool
		wantTS    error // of timestamp.Verify over the envelope's signature
	}{
		{"no timestamp", plain, nil, false, nil},
		{"token of another signature", withHeader(token), nil, true, timestamp.ErrImprintMismatch},
		{"empty", withHeader(""), nil, false, nil},
		{"not base64", withHeader("not base64!"), signature.ErrMalformed, false, nil},
		{"base64url", withHeader(base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff})), signature.ErrMalformed, false, nil},
		{"not a string", withHeader(42), signature.ErrMalformed, false, nil},
		{"base64 of garbage", withHeader(base64.StdEncoding.EncodeToString([]byte("garbage"))), nil, true, timestamp.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signature.Verify(tc.env)
			if !errors.Is(err, tc.wantParse) || (tc.wantParse == nil) != (err == nil) {
				t.Fatalf("Verify = %v; want %v", err, tc.wantParse)
			}
			if err != nil {
				return
			}
			if (got.TimestampToken != nil) != tc.wantToken {
				t.Fatalf("token present = %v, want %v", got.TimestampToken != nil, tc.wantToken)
			}
			if tc.wantToken {
				if _, err := timestamp.Verify(got.TimestampToken, got.SignatureValue, roots); !errors.Is(err, tc.wantTS) {
					t.Errorf("timestamp.Verify = %v; want %v", err, tc.wantTS)
				}
			}
		})
	}
}
