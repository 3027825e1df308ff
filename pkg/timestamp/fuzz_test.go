package timestamp_test

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/notaryproject/tspclient-go"

	"github.com/nv2-signing/nv2/internal/testtsa"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// FuzzVerify feeds Verify changed tokens of the real TSA. Verify must never
// panic, and whatever it accepts must stamp the message and chain to the
// trusted root.
func FuzzVerify(f *testing.F) {
	tsa := testtsa.New(f)
	token := stamp(f, tsa, signatureValue)
	roots := []*x509.Certificate{tsa.Root()}
	f.Add(token)
	f.Add(token[:len(token)-1])
	f.Add(append(append([]byte(nil), token...), 0))
	f.Add([]byte{0x30, 0x80, 0x00, 0x00}) // BER, indefinite length
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := timestamp.Verify(data, signatureValue, roots)
		if err != nil {
			return
		}
		signed, perr := tspclient.ParseSignedToken(data)
		if perr != nil {
			t.Fatalf("Verify accepted what tspclient-go cannot parse: %v", perr)
		}
		info, ierr := signed.Info()
		if ierr != nil {
			t.Fatal(ierr)
		}
		h := ts.Hash.New()
		h.Write(signatureValue)
		if !bytes.Equal(info.MessageImprint.HashedMessage, h.Sum(nil)) {
			t.Fatal("Verify accepted a token over another message")
		}
		if n := len(ts.TSAChain); n == 0 || !ts.TSAChain[n-1].Equal(tsa.Root()) {
			t.Fatal("Verify accepted a token that does not chain to the trusted root")
		}
	})
}

// FuzzParse feeds Parse changed tokens of the real TSA. Parse must never
// panic, and whatever it reads must stamp the message and name its signer.
func FuzzParse(f *testing.F) {
	tsa := testtsa.New(f)
	token := stamp(f, tsa, signatureValue)
	f.Add(token)
	f.Add(token[:len(token)/2])
	f.Add([]byte{0x30, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := timestamp.Parse(data, signatureValue)
		if err != nil {
			return
		}
		if len(ts.TSAChain) != 1 || ts.TSAChain[0] == nil {
			t.Fatal("Parse read a token without naming its signing certificate")
		}
		if _, err := timestamp.Parse(data, []byte("another message")); err == nil {
			t.Fatal("Parse read a token as stamping two messages")
		}
	})
}
