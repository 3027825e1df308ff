// Package testtsa runs a real RFC 3161 Time Stamping Authority inside a test
// process: sigstore's timestamp-authority server code, on a loopback port.
//
// Only the server's HTTP handler is used (pkg/server.NewRestAPIServer and its
// GetHandler), served by an httptest server on 127.0.0.1. The package never
// calls the server's own Listen or Serve, and it does not use the
// timestamp-server command, which is what starts NTP monitoring against
// public time servers and a metrics listener on every interface: nothing here
// sends traffic off the machine. The TSA signs with sigstore's in-memory
// signer (an ECDSA P-256 key and a fresh leaf, intermediate and root chain)
// and puts the chain into its responses.
//
// The sigstore server keeps its configuration and signer in package
// variables, so one process can run one TSA at a time: Start fails while
// another is running, and a test that needs a second TSA closes the first.
package testtsa

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/timestamp-authority/pkg/log"
	"github.com/sigstore/timestamp-authority/pkg/server"
	"github.com/spf13/viper"
	"go.uber.org/zap"
)

// Paths of the TSA's REST API.
const (
	// TimestampPath answers RFC 3161 requests (POST application/timestamp-query).
	TimestampPath = "/api/v1/timestamp"
	// CertChainPath serves the TSA's chain as PEM, leaf first.
	CertChainPath = "/api/v1/timestamp/certchain"
)

// TSA is a running Time Stamping Authority on a loopback port.
type TSA struct {
	// URL is the RFC 3161 endpoint, http://127.0.0.1:PORT/api/v1/timestamp.
	URL string
	// BaseURL is http://127.0.0.1:PORT.
	BaseURL string
	// Chain is the TSA's certificate chain from its certchain endpoint: the
	// timestamping leaf, the intermediate and the root.
	Chain []*x509.Certificate

	server    *httptest.Server
	closeOnce sync.Once
}

// running is held from Start to Close: the sigstore server's state is global.
var running sync.Mutex

// Start starts a TSA on 127.0.0.1 at a random port and reads its chain.
// Close it when done; Start fails while another TSA of this process runs.
func Start() (*TSA, error) {
	if !running.TryLock() {
		return nil, errors.New("testtsa: a TSA is already running in this process; close it first")
	}
	tsa, err := start()
	if err != nil {
		running.Unlock()
		return nil, err
	}
	return tsa, nil
}

func start() (*TSA, error) {
	// The server logs every request through its package logger; tests keep
	// their output for their own failures.
	log.Logger = zap.NewNop().Sugar()
	viper.Set("timestamp-signer", "memory")
	viper.Set("timestamp-signer-hash", "sha256")
	viper.Set("include-chain-in-response", true)

	// Host and port are recorded by the sigstore server but unused: it never
	// listens; the handler is served below on a loopback listener.
	api := server.NewRestAPIServer("127.0.0.1", 0, []string{"http"}, false, 10*time.Second, 10*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testtsa: listen on loopback: %w", err)
	}
	srv := httptest.NewUnstartedServer(api.GetHandler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()

	tsa := &TSA{URL: srv.URL + TimestampPath, BaseURL: srv.URL, server: srv}
	chain, err := fetchChain(srv.Client(), srv.URL+CertChainPath)
	if err != nil {
		srv.Close()
		return nil, err
	}
	tsa.Chain = chain
	return tsa, nil
}

// New starts a TSA for test t and closes it when t ends.
func New(t testing.TB) *TSA {
	t.Helper()
	tsa, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tsa.Close)
	return tsa
}

// Root is the TSA's root certificate, the one to trust.
func (t *TSA) Root() *x509.Certificate { return t.Chain[len(t.Chain)-1] }

// Leaf is the TSA's timestamping certificate.
func (t *TSA) Leaf() *x509.Certificate { return t.Chain[0] }

// Close stops the TSA; a closed TSA refuses connections. Close is idempotent.
func (t *TSA) Close() {
	t.closeOnce.Do(func() {
		t.server.Close()
		running.Unlock()
	})
}

// fetchChain reads the PEM chain of the certchain endpoint.
func fetchChain(client *http.Client, url string) ([]*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testtsa: get the chain: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("testtsa: read the chain: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("testtsa: get the chain: %s: %s", resp.Status, body)
	}
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, body = pem.Decode(body)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("testtsa: parse the chain: %w", err)
		}
		chain = append(chain, cert)
	}
	if len(chain) != 3 {
		return nil, fmt.Errorf("testtsa: the chain has %d certificates, want leaf, intermediate and root", len(chain))
	}
	return chain, nil
}
