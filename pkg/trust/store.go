package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// Config is nv2's configuration folder: the trust store and trust policy,
// laid out as the Notary Project lays them out, so one folder can serve both
// tools:
//
//	DIR/trustpolicy.json
//	DIR/trustpolicy.blob.json
//	DIR/truststore/x509/{ca,signingAuthority,tsa}/NAME/*.{crt,pem}
type Config struct {
	Dir string
}

// DefaultConfig returns the configuration at $XDG_CONFIG_HOME/nv2, or
// ~/.config/nv2 when XDG_CONFIG_HOME is not set.
func DefaultConfig() (Config, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return Config{Dir: filepath.Join(d, "nv2")}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return Config{}, fmt.Errorf("finding the configuration folder: %w (set XDG_CONFIG_HOME)", err)
	}
	return Config{Dir: filepath.Join(home, ".config", "nv2")}, nil
}

// PolicyPath is where the trust policy document lives.
func (c Config) PolicyPath() string { return filepath.Join(c.Dir, "trustpolicy.json") }

func (c Config) storeDir(typ, name string) string {
	return filepath.Join(c.Dir, "truststore", "x509", typ, name)
}

// BlobPolicyPath is where the blob trust policy document lives.
func (c Config) BlobPolicyPath() string { return filepath.Join(c.Dir, "trustpolicy.blob.json") }

// ErrNoPolicy means no trust policy has been configured.
var ErrNoPolicy = errors.New("no trust policy is configured")

// ErrNoBlobPolicyFile means no blob trust policy has been configured.
var ErrNoBlobPolicyFile = errors.New("no blob trust policy is configured")

// LoadPolicy reads the configured trust policy. When there is none it
// returns an error wrapping ErrNoPolicy.
func (c Config) LoadPolicy() (*PolicyDocument, error) {
	return loadPolicy(c.PolicyPath(), ErrNoPolicy, ParsePolicy)
}

// LoadBlobPolicy reads the configured blob trust policy. When there is none
// it returns an error wrapping ErrNoBlobPolicyFile.
func (c Config) LoadBlobPolicy() (*BlobPolicyDocument, error) {
	return loadPolicy(c.BlobPolicyPath(), ErrNoBlobPolicyFile, ParseBlobPolicy)
}

// loadPolicy reads and parses the policy document at path, refusing one
// that other users may write; a missing file wraps missing.
func loadPolicy[T any](path string, missing error, parse func([]byte) (T, error)) (T, error) {
	var none T
	data, err := readPolicyFile(path, missing)
	if err != nil {
		return none, err
	}
	doc, err := parse(data)
	if err != nil {
		return none, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

func readPolicyFile(path string, missing error) ([]byte, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s does not exist)", missing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the trust policy: %w", err)
	}
	if info.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("the trust policy %s is writable by other users, who could make nv2 trust anything: run 'chmod go-w %s'", path, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the trust policy: %w", err)
	}
	return data, nil
}

// ImportPolicy validates a trust policy document and installs it as the
// configured policy, replacing any earlier one. An invalid document changes
// nothing.
func (c Config) ImportPolicy(data []byte) (*PolicyDocument, error) {
	doc, err := ParsePolicy(data)
	if err != nil {
		return nil, err
	}
	return doc, c.install(c.PolicyPath(), data)
}

// ImportBlobPolicy validates a blob trust policy document and installs it
// as the configured blob policy, replacing any earlier one. An invalid
// document changes nothing.
func (c Config) ImportBlobPolicy(data []byte) (*BlobPolicyDocument, error) {
	doc, err := ParseBlobPolicy(data)
	if err != nil {
		return nil, err
	}
	return doc, c.install(c.BlobPolicyPath(), data)
}

// install writes a validated policy document to path, atomically.
func (c Config) install(path string, data []byte) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", c.Dir, err)
	}
	if err := nvcrypto.WriteFileAtomic(path, data, 0o644, true); err != nil {
		return fmt.Errorf("writing the trust policy: %w", err)
	}
	return nil
}

// StoreEntry is one certificate file in the trust store.
type StoreEntry struct {
	Type, Name, Path string
	Certificates     []*x509.Certificate
}

// AddCertificates copies certificate files into the named trust store after
// checking that each holds at least one PEM certificate. It refuses to
// overwrite a file of the same name that holds different content. A tsa
// store takes only self-signed root CA certificates.
func (c Config) AddCertificates(typ, name string, files []string) ([]string, error) {
	if !validStoreType(typ) {
		return nil, fmt.Errorf("trust store type %q is not %q, %q or %q", typ, StoreCA, StoreSigningAuthority, StoreTSA)
	}
	if !validStoreName(name) {
		return nil, fmt.Errorf("trust store name %q may use only letters, digits, '-', '_' and '.'", name)
	}
	dir := c.storeDir(typ, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating trust store %s:%s: %w", typ, name, err)
	}
	var added []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return added, fmt.Errorf("reading certificate file: %w", err)
		}
		certs, err := nvcrypto.ParseCertificates(data)
		if err != nil {
			return added, fmt.Errorf("%s: %w", f, err)
		}
		if typ == StoreTSA {
			if err := checkTSARoots(certs); err != nil {
				return added, fmt.Errorf("%s: %w", f, err)
			}
		}
		dst := filepath.Join(dir, filepath.Base(f))
		if old, err := os.ReadFile(dst); err == nil && string(old) != string(data) {
			return added, fmt.Errorf("trust store %s:%s already has a different %s: remove it first or rename the file", typ, name, filepath.Base(f))
		}
		if err := nvcrypto.WriteFileAtomic(dst, data, 0o644, true); err != nil {
			return added, fmt.Errorf("adding %s to trust store %s:%s: %w", f, typ, name, err)
		}
		added = append(added, dst)
	}
	return added, nil
}

// List returns every certificate file of every trust store, sorted.
func (c Config) List() ([]StoreEntry, error) {
	var out []StoreEntry
	for _, typ := range []string{StoreCA, StoreSigningAuthority, StoreTSA} {
		names, err := os.ReadDir(filepath.Join(c.Dir, "truststore", "x509", typ))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing trust stores: %w", err)
		}
		for _, n := range names {
			if !n.IsDir() && n.Type()&fs.ModeSymlink == 0 {
				continue // a symbolic link is read, and refused, by readStore
			}
			entries, err := c.readStore(typ, n.Name())
			if err != nil {
				return nil, err
			}
			out = append(out, entries...)
		}
	}
	return out, nil
}

// Certificates returns all certificates of the trust store "type:name". A
// store that is missing or empty is an error, since a policy that names it
// could then trust nothing.
func (c Config) Certificates(ref string) ([]*x509.Certificate, error) {
	typ, name, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, fmt.Errorf("trust store %q must be \"ca:NAME\", \"signingAuthority:NAME\" or \"tsa:NAME\"", ref)
	}
	entries, err := c.readStore(typ, name)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, e := range entries {
		certs = append(certs, e.Certificates...)
	}
	if len(certs) == 0 {
		return nil, &StoreError{Type: typ, Name: name, Err: ErrEmptyStore}
	}
	return certs, nil
}

// readStore reads one trust store folder. Files that are symbolic links or
// writable by others are refused, and so are the store's folders (from
// truststore down): anyone who could change them could make nv2 trust their
// key.
func (c Config) readStore(typ, name string) ([]StoreEntry, error) {
	dir := c.storeDir(typ, name)
	if err := c.checkStoreDirs(typ, name); err != nil {
		return nil, err
	}
	files, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &StoreError{Type: typ, Name: name, Err: ErrNoStore}
	}
	if err != nil {
		return nil, fmt.Errorf("reading trust store %s:%s: %w", typ, name, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name() < files[j].Name() })
	var out []StoreEntry
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		info, err := os.Lstat(path)
		if err != nil {
			return nil, fmt.Errorf("reading trust store %s:%s: %w", typ, name, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("trust store file %s is a symbolic link: replace it with the certificate file itself", path)
		}
		if info.IsDir() {
			continue
		}
		if info.Mode().Perm()&0o022 != 0 {
			return nil, fmt.Errorf("trust store file %s is writable by other users: run 'chmod go-w %s'", path, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading trust store file: %w", err)
		}
		certs, err := nvcrypto.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("trust store file %s: %w", path, err)
		}
		if typ == StoreTSA {
			if err := checkTSARoots(certs); err != nil {
				return nil, fmt.Errorf("trust store file %s: %w", path, err)
			}
		}
		out = append(out, StoreEntry{Type: typ, Name: name, Path: path, Certificates: certs})
	}
	return out, nil
}

// checkStoreDirs refuses a folder of the trust store typ:name, from
// truststore down to the store itself, that is a symbolic link or writable
// by other users: whoever can write a folder can replace what it holds,
// whatever the files' own modes. Missing folders are not an error here.
func (c Config) checkStoreDirs(typ, name string) error {
	dir := filepath.Join(c.Dir, "truststore")
	for _, part := range []string{"", "x509", typ, name} {
		if part != "" {
			dir = filepath.Join(dir, part)
		}
		info, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading trust store %s:%s: %w", typ, name, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("trust store folder %s is a symbolic link: replace it with the folder itself", dir)
		}
		if info.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("trust store folder %s is writable by other users: run 'chmod go-w %s'", dir, dir)
		}
	}
	return nil
}

// Why a trust store that a policy names cannot be used.
var (
	ErrNoStore    = errors.New("does not exist")
	ErrEmptyStore = errors.New("has no certificates")
)

// StoreError: the trust store Type:Name cannot be used (Err is ErrNoStore
// or ErrEmptyStore).
type StoreError struct {
	Type, Name string
	Err        error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("trust store %s:%s %v", e.Type, e.Name, e.Err)
}
func (e *StoreError) Unwrap() error { return e.Err }
