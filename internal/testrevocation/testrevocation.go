// Package testrevocation runs a certificate hierarchy whose revocation is
// served on loopback by OpenSSL's own OCSP responder logic and CRLs, for tests.
//
// Certificates are made in Go and recorded in an `openssl ca` database
// (index.txt), so `openssl ca -revoke` revokes them, `openssl ca -gencrl`
// issues the CRLs, and every OCSP request the test server receives is answered
// by `openssl ocsp -index ... -reqin ... -respout ...`: the server never uses
// openssl's own -port listener, which would listen on every interface.
package testrevocation

import (
	"github.com/nv2-signing/nv2/internal/testsign"

	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// CA is one certificate authority of the hierarchy, with its openssl ca
// database.
type CA struct {
	Name string
	Cert *x509.Certificate
	key  crypto.Signer
	dir  string
	// responders are the certificates that sign OCSP responses, by Signer.
	responders map[Signer]*x509.Certificate

	mu sync.Mutex // serializes openssl runs on the database
}

// Env is a root CA, an intermediate CA, and the loopback HTTP server that
// answers OCSP for both and serves their CRLs. Its setters may be called
// while checks run.
type Env struct {
	Root, Intermediate *CA
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string

	t      testing.TB
	dir    string
	server *httptest.Server
	// impostors are CAs with the same names as Root and Intermediate but
	// other keys, for CRLs signed by the wrong key.
	impostors map[string]*CA

	delay       atomic.Int64 // nanoseconds added to every request
	ocspDown    atomic.Bool
	crlDown     atomic.Bool
	crlWrongKey atomic.Bool
	crlExpired  atomic.Bool
	aboutOther  atomic.Pointer[big.Int] // answer OCSP about this serial instead
	signer      atomic.Value            // a Signer: who signs OCSP responses

	ocspRequests, crlRequests atomic.Int64
	ocspPosts                 atomic.Int64
	inflight, maxInflight     atomic.Int64
}

// LeafOptions shape a leaf certificate.
type LeafOptions struct {
	NoOCSP bool // no AIA OCSP responder URL
	NoCRL  bool // no CRL distribution point
	// MissingCRLFirst lists, before the real CRL distribution point, one
	// whose CRL does not exist (404).
	MissingCRLFirst bool
	// CRLAlias names the intermediate's CRL by another URL, which its
	// issuing distribution point does not list.
	CRLAlias bool
}

// Require skips the test when openssl is not installed.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed; install OpenSSL 3 (Debian: apt-get install openssl) to run the revocation tests")
	}
}

// New starts the server on 127.0.0.1 and makes the two CAs. Everything is
// removed when the test ends.
func New(t testing.TB) *Env {
	t.Helper()
	Require(t)
	e := &Env{t: t, dir: t.TempDir(), impostors: map[string]*CA{}}
	e.server = httptest.NewServer(http.HandlerFunc(e.serve)) // listens on 127.0.0.1
	t.Cleanup(e.server.Close)
	e.URL = e.server.URL
	e.Root = e.newCA("root", nil, false)
	e.Intermediate = e.newCA("intermediate", e.Root, true)
	e.impostors["root"] = e.newImpostor(e.Root)
	e.impostors["intermediate"] = e.newImpostor(e.Intermediate)
	return e
}

// Leaf issues a code signing leaf certificate from the intermediate CA.
func (e *Env) Leaf(opts LeafOptions) *x509.Certificate {
	e.t.Helper()
	cert, _ := e.SigningLeaf(opts)
	return cert
}

// SigningLeaf is Leaf with the leaf's private key, to sign with.
func (e *Env) SigningLeaf(opts LeafOptions) (*x509.Certificate, crypto.Signer) {
	e.t.Helper()
	key := newKey(e.t)
	tmpl := e.template("leaf "+randomName(), false)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	if !opts.NoOCSP {
		tmpl.OCSPServer = []string{e.OCSPURL(e.Intermediate)}
	}
	if opts.MissingCRLFirst {
		tmpl.CRLDistributionPoints = []string{e.URL + "/crl/missing.crl"}
	}
	switch {
	case opts.CRLAlias:
		tmpl.CRLDistributionPoints = append(tmpl.CRLDistributionPoints, e.CRLURL(e.Intermediate)+"?alias")
	case !opts.NoCRL:
		tmpl.CRLDistributionPoints = append(tmpl.CRLDistributionPoints, e.CRLURL(e.Intermediate))
	}
	return e.Intermediate.issue(e.t, tmpl, key.Public()), key
}

// Chain returns leaf, the intermediate and the root.
func (e *Env) Chain(leaf *x509.Certificate) []*x509.Certificate {
	return []*x509.Certificate{leaf, e.Intermediate.Cert, e.Root.Cert}
}

// OCSPURL and CRLURL are the endpoints serving ca's certificates.
func (e *Env) OCSPURL(ca *CA) string { return e.URL + "/ocsp/" + ca.Name }
func (e *Env) CRLURL(ca *CA) string  { return e.URL + "/crl/" + ca.Name + ".crl" }

// Revoke revokes cert in its issuer's database with `openssl ca -revoke`.
// reason is an RFC 5280 reason name (keyCompromise, ...); certificateHold
// puts the certificate on hold.
func (e *Env) Revoke(cert *x509.Certificate, reason string) {
	e.t.Helper()
	if reason == "certificateHold" {
		e.revoke(cert, "-crl_hold", "holdInstructionReject")
	} else {
		e.revoke(cert, "-crl_reason", reason)
	}
}

// RevokeCompromised revokes cert for keyCompromise with an invalidity date
// (openssl ca -crl_compromise), which both OCSP and the CRL then carry.
func (e *Env) RevokeCompromised(cert *x509.Certificate, at time.Time) {
	e.t.Helper()
	e.revoke(cert, "-crl_compromise", at.UTC().Format("20060102150405Z"))
}

func (e *Env) revoke(cert *x509.Certificate, opts ...string) {
	e.t.Helper()
	ca := e.issuerOf(cert)
	path := filepath.Join(e.dir, "revoke-"+cert.SerialNumber.Text(16)+".pem")
	writePEM(e.t, path, "CERTIFICATE", cert.Raw)
	args := append([]string{"-revoke", path}, opts...)
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if out, err := ca.openssl(append([]string{"ca", "-config", ca.path("ca.cnf")}, args...)...); err != nil {
		e.t.Fatalf("openssl ca -revoke: %v\n%s", err, out)
	}
}

// SetDelay adds d to every request before it is answered.
func (e *Env) SetDelay(d time.Duration) { e.delay.Store(int64(d)) }

// SetOCSPDown makes the OCSP endpoints drop every connection unanswered.
func (e *Env) SetOCSPDown(down bool) { e.ocspDown.Store(down) }

// SetCRLDown makes the CRL endpoints drop every connection unanswered.
func (e *Env) SetCRLDown(down bool) { e.crlDown.Store(down) }

// SetCRLWrongKey serves CRLs with the right issuer name signed by another key.
func (e *Env) SetCRLWrongKey(wrong bool) { e.crlWrongKey.Store(wrong) }

// SetCRLExpired serves CRLs whose nextUpdate passed a day ago (issued by
// openssl ca -gencrl with -crl_lastupdate and -crl_nextupdate).
func (e *Env) SetCRLExpired(expired bool) { e.crlExpired.Store(expired) }

// SetOCSPAnswerAbout makes the responder answer every request about other
// (a certificate of the same issuer) instead of the certificate asked for;
// nil restores honest answers.
func (e *Env) SetOCSPAnswerAbout(other *x509.Certificate) {
	if other == nil {
		e.aboutOther.Store(nil)
		return
	}
	e.aboutOther.Store(other.SerialNumber)
}

// Signer says who signs the OCSP responses.
type Signer string

const (
	// SignerAuthorized is the normal responder: the root CA signs its own
	// responses, the intermediate delegates to a certificate it issued with
	// the OCSPSigning extended key usage.
	SignerAuthorized Signer = ""
	// SignerWrongKey is a CA with the same name as the issuer but another key.
	SignerWrongKey Signer = "wrong-key"
	// SignerNoOCSPSigning is a certificate the issuer issued without the
	// OCSPSigning extended key usage.
	SignerNoOCSPSigning Signer = "no-ocsp-signing"
	// SignerWithoutNoCheck is a delegated responder without the
	// id-pkix-ocsp-nocheck extension, whose own revocation is then checked
	// with the CRL of its issuer.
	SignerWithoutNoCheck Signer = "without-nocheck"
)

// Responder returns the certificate that signs ca's OCSP responses as s.
func (ca *CA) Responder(s Signer) *x509.Certificate { return ca.responders[s] }

// SetOCSPSigner chooses who signs the OCSP responses of both CAs.
func (e *Env) SetOCSPSigner(s Signer) { e.signer.Store(s) }

// Stop closes the server: every later request is refused.
func (e *Env) Stop() { e.server.Close() }

// Requests returns how many OCSP and CRL requests arrived.
func (e *Env) Requests() (ocspN, crlN int) {
	return int(e.ocspRequests.Load()), int(e.crlRequests.Load())
}

// OCSPPosts returns how many OCSP requests came as POST rather than GET.
func (e *Env) OCSPPosts() int { return int(e.ocspPosts.Load()) }

// MaxConcurrent returns the most requests the server was handling at once.
func (e *Env) MaxConcurrent() int { return int(e.maxInflight.Load()) }

// ResetCounts zeroes the request counters.
func (e *Env) ResetCounts() {
	e.ocspRequests.Store(0)
	e.crlRequests.Store(0)
	e.ocspPosts.Store(0)
	e.maxInflight.Store(0)
}

func (e *Env) serve(w http.ResponseWriter, r *http.Request) {
	n := e.inflight.Add(1)
	defer e.inflight.Add(-1)
	for {
		m := e.maxInflight.Load()
		if n <= m || e.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/ocsp/"):
		e.ocspRequests.Add(1)
	case strings.HasPrefix(path, "/crl/"):
		e.crlRequests.Add(1)
	}
	if d := time.Duration(e.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case strings.HasPrefix(path, "/ocsp/"):
		if e.ocspDown.Load() {
			drop(w)
			return
		}
		e.serveOCSP(w, r, strings.TrimPrefix(path, "/ocsp/"))
	case strings.HasPrefix(path, "/crl/") && strings.HasSuffix(path, ".crl"):
		if e.crlDown.Load() {
			drop(w)
			return
		}
		e.serveCRL(w, strings.TrimSuffix(strings.TrimPrefix(path, "/crl/"), ".crl"))
	default:
		http.NotFound(w, r)
	}
}

// drop closes the connection without an answer, as a responder that is down.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	http.Error(w, "down", http.StatusServiceUnavailable)
}

func (e *Env) ca(name string) *CA {
	switch name {
	case "root":
		return e.Root
	case "intermediate":
		return e.Intermediate
	}
	return nil
}

// serveOCSP answers GET /ocsp/CA/<base64 request> and POST /ocsp/CA.
func (e *Env) serveOCSP(w http.ResponseWriter, r *http.Request, rest string) {
	name, encoded, _ := strings.Cut(rest, "/")
	ca := e.ca(name)
	if ca == nil {
		http.NotFound(w, r)
		return
	}
	var req []byte
	var err error
	switch r.Method {
	case http.MethodGet:
		if encoded, err = url.PathUnescape(encoded); err == nil {
			req, err = base64.StdEncoding.DecodeString(encoded)
		}
	case http.MethodPost:
		e.ocspPosts.Add(1)
		req, err = io.ReadAll(io.LimitReader(r.Body, 64<<10))
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if serial := e.aboutOther.Load(); serial != nil {
		if req, err = retarget(req, serial); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	cert, key := ca.path("responder.pem"), ca.path("responder.key")
	switch s, _ := e.signer.Load().(Signer); s {
	case SignerWrongKey:
		cert, key = e.impostors[name].path("ca.pem"), e.impostors[name].path("ca.key")
	case SignerNoOCSPSigning, SignerWithoutNoCheck:
		cert, key = ca.path(string(s)+".pem"), ca.path(string(s)+".key")
	}
	resp, err := ca.answerOCSP(req, cert, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}

// retarget rewrites an OCSP request to ask about serial.
func retarget(der []byte, serial *big.Int) ([]byte, error) {
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, err
	}
	req.SerialNumber = serial
	return req.Marshal()
}

func (e *Env) serveCRL(w http.ResponseWriter, name string) {
	ca := e.ca(name)
	if ca == nil {
		http.Error(w, "no such CA", http.StatusNotFound)
		return
	}
	if e.crlWrongKey.Load() {
		ca = e.impostors[name]
	}
	var dates []string
	if e.crlExpired.Load() {
		now := time.Now().UTC()
		dates = []string{"-crl_lastupdate", now.Add(-48 * time.Hour).Format("20060102150405Z"), "-crl_nextupdate", now.Add(-24 * time.Hour).Format("20060102150405Z")}
	}
	crl, err := ca.genCRL(dates...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(crl)
}

// answerOCSP runs openssl's responder logic on one request.
func (ca *CA) answerOCSP(req []byte, signerCert, signerKey string) ([]byte, error) {
	tmp, err := os.MkdirTemp(ca.dir, "ocsp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	reqPath, respPath := filepath.Join(tmp, "req.der"), filepath.Join(tmp, "resp.der")
	if err := os.WriteFile(reqPath, req, 0o600); err != nil {
		return nil, err
	}
	ca.mu.Lock()
	out, err := ca.openssl("ocsp", "-index", ca.path("index.txt"), "-CA", ca.path("ca.pem"),
		"-rsigner", signerCert, "-rkey", signerKey,
		"-reqin", reqPath, "-respout", respPath, "-ndays", "1")
	ca.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("openssl ocsp: %v: %s", err, out)
	}
	return os.ReadFile(respPath)
}

// genCRL issues a fresh CRL (valid one day, unless opts set its dates) with
// `openssl ca -gencrl`.
func (ca *CA) genCRL(opts ...string) ([]byte, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	out := ca.path("crl.der.pem")
	if b, err := ca.openssl(append([]string{"ca", "-config", ca.path("ca.cnf"), "-gencrl", "-out", out}, opts...)...); err != nil {
		return nil, fmt.Errorf("openssl ca -gencrl: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("openssl ca -gencrl wrote no PEM")
	}
	return block.Bytes, nil
}

func (ca *CA) openssl(args ...string) ([]byte, error) {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = ca.dir
	return cmd.CombinedOutput()
}

func (ca *CA) path(name string) string { return filepath.Join(ca.dir, name) }

// newCA makes a CA: the root when parent is nil, else issued by parent with
// OCSP and CRL URLs. Its OCSP responses are signed by the root itself, or by
// a delegated responder certificate for the intermediate.
func (e *Env) newCA(name string, parent *CA, delegated bool) *CA {
	t := e.t
	t.Helper()
	ca := &CA{Name: name, dir: filepath.Join(e.dir, name)}
	ca.key = newKey(t)
	tmpl := e.template("nv2 test "+name+" CA", true)
	if parent == nil {
		ca.Cert = selfSign(t, tmpl, ca.key)
	} else {
		tmpl.OCSPServer = []string{e.OCSPURL(parent)}
		tmpl.CRLDistributionPoints = []string{e.CRLURL(parent)}
		ca.Cert = parent.issue(t, tmpl, ca.key.Public())
	}
	ca.setup(t, e.CRLURL(ca))
	ca.responders = map[Signer]*x509.Certificate{}
	if delegated {
		ca.responders[SignerAuthorized] = e.newResponder(ca, "responder", "OCSP responder", true, true)
	} else {
		ca.responders[SignerAuthorized] = ca.Cert
		writePEM(t, ca.path("responder.pem"), "CERTIFICATE", ca.Cert.Raw)
		writeKey(t, ca.path("responder.key"), ca.key)
	}
	ca.responders[SignerNoOCSPSigning] = e.newResponder(ca, string(SignerNoOCSPSigning), "signer without OCSPSigning", false, false)
	ca.responders[SignerWithoutNoCheck] = e.newResponder(ca, string(SignerWithoutNoCheck), "OCSP responder without nocheck", true, false)
	return ca
}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// newResponder issues a certificate from ca to sign its OCSP responses,
// written as file.pem and file.key: with the OCSPSigning extended key usage
// or not, and with id-pkix-ocsp-nocheck or else with ca's CRL distribution
// point.
func (e *Env) newResponder(ca *CA, file, cn string, ocspSigning, noCheck bool) *x509.Certificate {
	t := e.t
	t.Helper()
	key := newKey(t)
	tmpl := e.template("nv2 test "+ca.Name+" "+cn, false)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	if ocspSigning {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	}
	if noCheck {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}}
	} else {
		tmpl.CRLDistributionPoints = []string{e.CRLURL(ca)}
	}
	cert := ca.issue(t, tmpl, key.Public())
	writePEM(t, ca.path(file+".pem"), "CERTIFICATE", cert.Raw)
	writeKey(t, ca.path(file+".key"), key)
	return cert
}

// newImpostor makes a CA with real's name and database but another key.
func (e *Env) newImpostor(real *CA) *CA {
	t := e.t
	t.Helper()
	ca := &CA{Name: real.Name, dir: filepath.Join(e.dir, real.Name+"-impostor")}
	ca.key = newKey(t)
	tmpl := e.template(real.Cert.Subject.CommonName, true)
	ca.Cert = selfSign(t, tmpl, ca.key)
	ca.setup(t, e.CRLURL(real))
	// Share the real database so the impostor lists the same revocations.
	os.Remove(ca.path("index.txt"))
	if err := os.Symlink(real.path("index.txt"), ca.path("index.txt")); err != nil {
		t.Fatal(err)
	}
	return ca
}

// setup writes the CA's certificate, key, empty database and openssl config.
// Its CRLs carry an issuing distribution point naming crlURL.
func (ca *CA) setup(t testing.TB, crlURL string) {
	t.Helper()
	if err := os.MkdirAll(ca.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writePEM(t, ca.path("ca.pem"), "CERTIFICATE", ca.Cert.Raw)
	writeKey(t, ca.path("ca.key"), ca.key)
	write(t, ca.path("index.txt"), "")
	write(t, ca.path("crlnumber"), "01\n")
	write(t, ca.path("ca.cnf"), `[ca]
default_ca = ca_default
[ca_default]
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 1
unique_subject = no
crl_extensions = crl_ext
[crl_ext]
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:`+crlURL+`
`)
}

// issue signs tmpl with the CA and records the certificate in its database
// as valid ("V"), as `openssl ca` would.
func (ca *CA) issue(t testing.TB, tmpl *x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	serial := strings.ToUpper(cert.SerialNumber.Text(16))
	if len(serial)%2 == 1 {
		serial = "0" + serial
	}
	line := fmt.Sprintf("V\t%s\t\t%s\tunknown\t/CN=%s\n", cert.NotAfter.UTC().Format("060102150405Z"), serial, cert.Subject.CommonName)
	ca.mu.Lock()
	defer ca.mu.Unlock()
	f, err := os.OpenFile(ca.path("index.txt"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
	return cert
}

func (e *Env) issuerOf(cert *x509.Certificate) *CA {
	for _, ca := range []*CA{e.Root, e.Intermediate} {
		if bytes.Equal(cert.RawIssuer, ca.Cert.RawSubject) {
			return ca
		}
	}
	e.t.Fatalf("no CA issued %s", cert.Subject)
	return nil
}

func (e *Env) template(cn string, isCA bool) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	return tmpl
}

func selfSign(t testing.TB, tmpl *x509.Certificate, key crypto.Signer) *x509.Certificate {
	t.Helper()
	return testsign.Issue(t, tmpl, nil, key.Public(), key)
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func randomName() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

func writeKey(t testing.TB, path string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	write(t, path, string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})))
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Loopback reports whether every server address is on 127.0.0.0/8, as the
// tests require.
func (e *Env) Loopback() bool {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(e.URL, "http://"))
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}
