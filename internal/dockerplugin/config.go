package dockerplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// ConfigFile is the plugin's settings file, in the docker config folder
// beside docker's config.json.
const ConfigFile = "nv2.json"

// Config is the plugin's settings (nv2.json). Paths are absolute. At most
// one of VerifyCerts and Policy is set.
type Config struct {
	// Enabled makes push sign, pull verify, and other docker commands pass
	// through; disabled, the plugin offers only nv2's own commands.
	Enabled bool `json:"enabled"`
	// Key and Cert sign on push (and are sign's defaults).
	Key  string `json:"key,omitempty"`
	Cert string `json:"cert,omitempty"`
	// VerifyCerts are certificates trusted directly on pull, as verify --cert.
	VerifyCerts []string `json:"verifyCerts,omitempty"`
	// Policy is a trust policy file used on pull, as verify --policy.
	Policy string `json:"policy,omitempty"`
	// TimestampURL and TimestampRootCert, when set, timestamp the
	// signatures of push (and sign) with that RFC 3161 TSA, whose tokens
	// must chain to the root certificate in TimestampRootCert.
	TimestampURL      string `json:"timestampURL,omitempty"`
	TimestampRootCert string `json:"timestampRootCert,omitempty"`
}

// ConfigError: the settings file exists but cannot be read or decoded.
type ConfigError struct {
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("plugin settings %s: %v", e.Path, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// Errors of settings that a command needs and that are missing.
var (
	// ErrNoSigner: no signing key and certificate are configured.
	ErrNoSigner = errors.New("no signing key and certificate are configured")
	// ErrNoTrust: no certificates or trust policy are configured for pulls.
	ErrNoTrust = errors.New("no trust is configured for pulls")
)

// LoadConfig reads nv2.json in the docker config folder dir and returns it
// with its path. A missing file is the zero Config: disabled, nothing set.
func LoadConfig(dir string) (*Config, string, error) {
	path := filepath.Join(dir, ConfigFile)
	cfg := &Config{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return nil, "", &ConfigError{Path: path, Err: err}
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, "", &ConfigError{Path: path, Err: fmt.Errorf("not valid JSON (%w)", err)}
	}
	return cfg, path, nil
}

// Save writes cfg to path (mode 0600, atomically), creating the folder.
func (cfg *Config) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving the plugin settings: %w", err)
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return nvcrypto.WriteFileAtomic(path, append(data, '\n'), 0o600, true)
}

// CheckSigner returns ErrNoSigner unless a key and certificate are set.
func (cfg *Config) CheckSigner() error {
	if cfg.Key == "" || cfg.Cert == "" {
		return ErrNoSigner
	}
	return nil
}

// CheckTrust returns ErrNoTrust unless certificates or a policy are set.
func (cfg *Config) CheckTrust() error {
	if cfg.Policy == "" && len(cfg.VerifyCerts) == 0 {
		return ErrNoTrust
	}
	return nil
}
