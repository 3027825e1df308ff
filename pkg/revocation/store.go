package revocation

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// store is where verified OCSP responses and CRLs are kept: the user cache,
// the offline data, or nowhere. Files hold the DER bytes exactly as the
// server sent them, so every read verifies them again like a fresh answer.
type store struct {
	dir     string // "" keeps nothing
	source  Source // reported for answers read from dir
	network bool   // false: offline, dir is the only source
	// mustWrite makes a failed write an error (Fetch); a cache that cannot
	// be written only costs the next run a request.
	mustWrite bool
	writeOnly bool // what is stored was already refused: do not read it again
}

// ocspKey names the stored OCSP response about cert from responder.
func ocspKey(cert, issuer *x509.Certificate, responder string) string {
	return "ocsp-" + keyHash(issuer.RawSubject, issuer.RawSubjectPublicKeyInfo, cert.SerialNumber.Bytes(), []byte(responder)) + ".der"
}

// crlKey names the stored CRL of issuer from distribution point dp.
func crlKey(issuer *x509.Certificate, dp string) string {
	return "crl-" + keyHash(issuer.RawSubject, issuer.RawSubjectPublicKeyInfo, []byte(dp)) + ".der"
}

func keyHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// read returns the bytes stored under key, at most MaxCRLSize+1 of them (the
// verifier refuses more). Any failure reads as a miss.
func (s *store) read(key string) ([]byte, bool) {
	if s.dir == "" || s.writeOnly {
		return nil, false
	}
	f, err := os.Open(filepath.Join(s.dir, key))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCRLSize+1))
	if err != nil {
		return nil, false
	}
	return data, true
}

// write stores data under key atomically: a private temporary file in the
// same directory, renamed over the old one.
func (s *store) write(key string, data []byte) error {
	if s.dir == "" {
		return nil
	}
	err := writeAtomic(filepath.Join(s.dir, key), data)
	if err != nil && s.mustWrite {
		return fmt.Errorf("writing revocation data: %w", err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
