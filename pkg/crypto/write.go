package crypto

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Paths are the files WriteCredentials wrote.
type Paths struct {
	Key, Cert     string // NAME.key, NAME.crt (the chain, leaf first)
	CAKey, CACert string // NAME-ca.key, NAME-ca.crt; empty without a CA
}

// WriteCredentials writes c into dir as NAME.key (0600), NAME.crt (the chain,
// leaf first) and, when c has a CA key, NAME-ca.key (0600) and NAME-ca.crt (the
// CA certificate, the last of the chain). Unless force, it writes nothing when
// any of these files exists, and says which. Each file is written atomically.
func WriteCredentials(dir, name string, c *Credentials, force bool) (Paths, error) {
	if c == nil || c.Key == nil || len(c.Chain) == 0 {
		return Paths{}, errors.New("write credentials: no key or certificate to write")
	}
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return Paths{}, fmt.Errorf("write credentials: name %q must be a plain file name", name)
	}
	p := Paths{Key: filepath.Join(dir, name+".key"), Cert: filepath.Join(dir, name+".crt")}
	type file struct {
		path string
		data []byte
		perm os.FileMode
	}
	keyPEM, err := EncodePrivateKey(c.Key)
	if err != nil {
		return Paths{}, err
	}
	files := []file{{p.Key, keyPEM, 0o600}, {p.Cert, EncodeCertificates(c.Chain), 0o644}}
	if c.CAKey != nil {
		p.CAKey = filepath.Join(dir, name+"-ca.key")
		p.CACert = filepath.Join(dir, name+"-ca.crt")
		caPEM, err := EncodePrivateKey(c.CAKey)
		if err != nil {
			return Paths{}, err
		}
		files = append(files, file{p.CAKey, caPEM, 0o600}, file{p.CACert, EncodeCertificates(c.Chain[len(c.Chain)-1:]), 0o644})
	}
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				return Paths{}, existsError(f.path)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Paths{}, fmt.Errorf("write credentials: %w", err)
	}
	for _, f := range files {
		if err := WriteFileAtomic(f.path, f.data, f.perm, force); err != nil {
			return Paths{}, err
		}
	}
	return p, nil
}

// ExistsError: a write would replace an existing file and overwriting was
// not asked for. It matches fs.ErrExist.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string        { return e.Path + " already exists" }
func (e *ExistsError) Is(target error) bool { return target == fs.ErrExist }

func existsError(path string) error { return &ExistsError{Path: path} }

// WriteFileAtomic writes data to path with permissions perm through a temporary
// file in the same directory, so readers see the old file or the new one, never
// a part. Without overwrite an existing path is left alone and the error wraps
// fs.ErrExist.
func WriteFileAtomic(path string, data []byte, perm os.FileMode, overwrite bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if overwrite {
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	// A hard link fails if path exists, so a file appearing meanwhile is kept.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return existsError(path)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Remove(tmpName)
}
