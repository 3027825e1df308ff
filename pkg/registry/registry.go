// Package registry stores and finds artifacts and their OCI 1.1 referrers, in
// remote repositories and OCI image layouts alike, on top of oras-go v2.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/nv2-signing/nv2/pkg/registry/internal/distribution"
)

// maxParallel bounds the requests one call sends at once.
const maxParallel = 8

// Options configure a Client. The zero value talks HTTPS to non-loopback
// registries with the docker config's credentials.
type Options struct {
	// PlainHTTP forces http:// for every registry. Loopback hosts
	// (localhost, 127.0.0.0/8, ::1) use plain HTTP even when it is false,
	// unless Insecure or CAFile is set (which only make sense with TLS).
	PlainHTTP bool
	// Insecure skips TLS certificate verification (HTTPS is still used).
	Insecure bool
	// CAFile is a PEM file of extra CA certificates trusted for registries,
	// in addition to the system pool.
	CAFile string
	// Username and Password, when set, are used for every registry instead
	// of the docker config's credentials.
	Username, Password string
	// DockerConfig is the directory holding config.json; "" means
	// $DOCKER_CONFIG, else ~/.docker. Its auths, credsStore and credHelpers
	// are honoured.
	DockerConfig string
	// UserAgent is sent with every request, e.g. "nv2/0.1.0".
	UserAgent string
	// Debug, when set, receives one line per request and per response
	// (method, URL, status, time). Credentials, tokens and signed URL
	// parameters are redacted; bodies are never logged.
	Debug io.Writer
	// Timeout bounds each HTTP request, retries included; 0 means none.
	Timeout time.Duration
}

// Client reaches registries. It holds one HTTP connection pool, one auth
// token cache and what it learned about each repository's referrers API, so
// a process should make one Client and share it; it is safe for concurrent
// use.
type Client struct {
	opts Options
	auth *auth.Client

	mu           sync.Mutex
	capabilities map[string]*distribution.Capability // host/repository -> what was learned
}

// NewClient builds a Client from opts. It reads the CA file and the docker
// config now, so mistakes in either are reported here.
func NewClient(opts Options) (*Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure} //nolint:gosec // Insecure is the user's explicit choice
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", opts.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsConfig
	base.MaxIdleConnsPerHost = maxParallel * 2
	var rt http.RoundTripper = base
	if opts.Debug != nil {
		rt = &debugTransport{next: rt, w: opts.Debug}
	}
	httpClient := &http.Client{Transport: retry.NewTransport(rt), Timeout: opts.Timeout}

	credFunc, err := credentialFunc(opts)
	if err != nil {
		return nil, err
	}
	ac := &auth.Client{Client: httpClient, Cache: auth.NewCache(), Credential: credFunc, ClientID: "nv2"}
	if opts.UserAgent != "" {
		ac.SetUserAgent(opts.UserAgent)
	}
	return &Client{opts: opts, auth: ac, capabilities: map[string]*distribution.Capability{}}, nil
}

// credentialFunc resolves credentials: Options.Username and Password for every host,
// else the docker config with its credential helpers.
func credentialFunc(opts Options) (auth.CredentialFunc, error) {
	if opts.Username != "" || opts.Password != "" {
		if opts.Username == "" {
			return nil, errors.New("a password was given without a username")
		}
		cred := auth.Credential{Username: opts.Username, Password: opts.Password}
		return func(_ context.Context, _ string) (auth.Credential, error) { return cred, nil }, nil
	}
	var (
		store *credentials.DynamicStore
		err   error
		path  string
	)
	if opts.DockerConfig != "" {
		path = filepath.Join(opts.DockerConfig, "config.json")
		store, err = credentials.NewStore(path, credentials.StoreOptions{})
	} else {
		path = "$DOCKER_CONFIG/config.json or ~/.docker/config.json"
		store, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
	}
	if err != nil {
		return nil, &DockerConfigError{Path: path, Err: err}
	}
	return credentials.Credential(store), nil
}

// plainHTTP reports whether host (host[:port]) is reached over plain HTTP:
// always with PlainHTTP, and for loopback hosts unless CAFile or Insecure
// say that the user means TLS.
func (c *Client) plainHTTP(host string) bool {
	return c.opts.PlainHTTP || (isLoopback(host) && c.opts.CAFile == "" && !c.opts.Insecure)
}

// isLoopback reports whether host[:port] is localhost or a loopback address.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// capabilityFor returns what the Client learned about a repository.
func (c *Client) capabilityFor(key string) *distribution.Capability {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp, ok := c.capabilities[key]
	if !ok {
		cp = &distribution.Capability{}
		c.capabilities[key] = cp
	}
	return cp
}
