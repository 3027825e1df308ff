package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// newStore makes a configuration folder whose trust store ca:acme holds one
// certificate file, and returns the folder and that file's path.
func newStore(t *testing.T) (Config, string) {
	t.Helper()
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "acme.crt")
	if err := os.WriteFile(src, nvcrypto.EncodeCertificates(creds.Chain), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: filepath.Join(t.TempDir(), "nv2")}
	added, err := cfg.AddCertificates(StoreCA, "acme", []string{src})
	if err != nil || len(added) != 1 {
		t.Fatalf("AddCertificates: %v, %v", added, err)
	}
	return cfg, added[0]
}

// TestStoreRefusesWhatOthersCouldChange: a certificate file or a store
// folder that another user could replace would let them make nv2 trust
// their key; so would a trust policy they could write.
func TestStoreRefusesWhatOthersCouldChange(t *testing.T) {
	for _, tt := range []struct {
		name    string
		break_  func(t *testing.T, cfg Config, file string)
		wantErr string
	}{
		{name: "as added", break_: func(*testing.T, Config, string) {}},
		{name: "certificate file is a symbolic link", break_: func(t *testing.T, _ Config, file string) {
			real := filepath.Join(t.TempDir(), "elsewhere.crt")
			mustRename(t, file, real)
			mustSymlink(t, real, file)
		}, wantErr: "is a symbolic link"},
		{name: "certificate file writable by everyone", break_: func(t *testing.T, _ Config, file string) {
			mustChmod(t, file, 0o666)
		}, wantErr: "chmod go-w " + "FILE"},
		{name: "certificate file writable by the group", break_: func(t *testing.T, _ Config, file string) {
			mustChmod(t, file, 0o664)
		}, wantErr: "writable by other users"},
		{name: "store folder writable by everyone", break_: func(t *testing.T, _ Config, file string) {
			mustChmod(t, filepath.Dir(file), 0o777)
		}, wantErr: "trust store folder"},
		{name: "truststore folder writable by everyone", break_: func(t *testing.T, cfg Config, _ string) {
			mustChmod(t, filepath.Join(cfg.Dir, "truststore"), 0o777)
		}, wantErr: "writable by other users"},
		{name: "store folder is a symbolic link", break_: func(t *testing.T, _ Config, file string) {
			dir := filepath.Dir(file)
			real := filepath.Join(t.TempDir(), "acme-elsewhere")
			mustRename(t, dir, real)
			mustSymlink(t, real, dir)
		}, wantErr: "is a symbolic link"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, file := newStore(t)
			tt.break_(t, cfg, file)
			want := strings.ReplaceAll(tt.wantErr, "FILE", file)
			_, err := cfg.Certificates("ca:acme")
			_, listErr := cfg.List()
			if want == "" {
				if err != nil || listErr != nil {
					t.Fatalf("Certificates: %v; List: %v", err, listErr)
				}
				return
			}
			for _, e := range []error{err, listErr} {
				if e == nil || !strings.Contains(e.Error(), want) {
					t.Errorf("error %v; want one containing %q", e, want)
				}
			}
		})
	}
}

func TestPolicyWritableByOthersIsRefused(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	if _, err := cfg.ImportPolicy([]byte(validPolicy)); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.LoadPolicy(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o666, 0o664, 0o646} {
		mustChmod(t, cfg.PolicyPath(), mode)
		if _, err := cfg.LoadPolicy(); err == nil || !strings.Contains(err.Error(), "chmod go-w "+cfg.PolicyPath()) {
			t.Errorf("mode %04o: %v; want a refusal with the fix", mode, err)
		}
	}
}

func mustChmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
