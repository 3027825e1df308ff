package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// maxParallel bounds the requests one call sends at once.
const maxParallel = 8

// Referrers API support of a repository, as learned from its answers.
const (
	capUnknown int32 = iota
	capSupported
	capUnsupported
)

// capability records whether a repository serves the referrers API. It is
// learned from the OCI-Subject header of a manifest PUT or from a referrers
// GET, never from an extra request, and shared by the Targets of a Client.
// It also remembers that this Client stored the signature config blob in
// the repository, so later signatures skip that upload.
type capability struct {
	v         atomic.Int32
	hasConfig atomic.Bool
}

func (c *capability) load() int32 { return c.v.Load() }
func (c *capability) set(v int32) { c.v.Store(v) }

// Target is a remote repository or an OCI image layout. Both offer the same
// methods; a Target is safe for concurrent use.
type Target struct {
	name string // for messages

	// remote repository
	client *Client
	ref    Reference
	repo   *remote.Repository
	cap    *capability
	settle settleConfig

	// OCI image layout
	layout  string
	layoutM sync.Mutex
	store   *oci.Store
}

// String names the target: "host/repository" or the layout path.
func (t *Target) String() string { return t.name }

// IsLayout reports whether t is an OCI image layout.
func (t *Target) IsLayout() bool { return t.layout != "" }

// Repository returns the remote repository of ref (its tag and digest are
// ignored), or the OCI image layout when ref.Layout is set. It sends no
// request.
func (c *Client) Repository(ref Reference) (*Target, error) {
	if ref.Layout != "" {
		return OpenLayout(ref.Layout)
	}
	if ref.Registry == "" || ref.Repository == "" {
		return nil, fmt.Errorf("reference %q has no registry or repository; use host[:port]/repository", ref)
	}
	oref := ref.orasReference("")
	if err := oref.ValidateRepository(); err != nil {
		return nil, fmt.Errorf("repository %s/%s: %w", ref.Registry, ref.Repository, err)
	}
	name := ref.Registry + "/" + ref.Repository
	repo := &remote.Repository{
		Client:           c.auth,
		Reference:        oref,
		PlainHTTP:        c.plainHTTP(oref.Host()),
		MaxMetadataBytes: spec.MaxManifestSize,
		SkipReferrersGC:  true,
	}
	// oras-go must never write the referrers tag itself: its update is not
	// safe across processes and deletes the index it replaced. Declaring the
	// API "supported" makes oras push manifests as they are; nv2 learns the
	// real capability itself (see capability) and keeps the fallback index.
	if err := repo.SetReferrersCapability(true); err != nil {
		return nil, err
	}
	if w := c.opts.Debug; w != nil {
		repo.HandleWarning = func(warning remote.Warning) {
			fmt.Fprintf(w, "nv2 http: warning from %s: %s\n", name, warning.Text)
		}
	}
	return &Target{
		name:   name,
		client: c,
		ref:    Reference{Registry: ref.Registry, Repository: ref.Repository},
		repo:   repo,
		cap:    c.capabilityFor(oref.Host() + "/" + ref.Repository),
		settle: defaultSettle(),
	}, nil
}

// OpenLayout returns the OCI image layout at path. A missing or empty
// folder is not an error: reading it finds nothing (ErrNotFound), and the
// first write creates the layout. A folder with other content must be an OCI
// image layout. Writes go through oras-go's layout store: one process at a
// time should write a layout.
func OpenLayout(path string) (*Target, error) {
	if path == "" {
		return nil, errors.New("OCI layout path is empty")
	}
	t := &Target{name: path, layout: path}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("open OCI layout %s: %w", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open OCI layout %s: not a directory", path)
	}
	if !t.layoutExists() {
		if entries, _ := os.ReadDir(path); len(entries) > 0 {
			return nil, fmt.Errorf("open OCI layout %s: no %s file: the folder is not an OCI image layout", path, ocispec.ImageLayoutFile)
		}
		return t, nil
	}
	if _, err := t.layoutStore(false); err != nil {
		return nil, err
	}
	return t, nil
}

// layoutExists reports whether the layout folder has its oci-layout file.
func (t *Target) layoutExists() bool {
	_, err := os.Stat(filepath.Join(t.layout, ocispec.ImageLayoutFile))
	return err == nil
}

// layoutStore returns the layout's store, creating the layout when create
// is set. Without create, a missing layout yields ErrNotFound.
func (t *Target) layoutStore(create bool) (*oci.Store, error) {
	t.layoutM.Lock()
	defer t.layoutM.Unlock()
	if t.store != nil {
		return t.store, nil
	}
	if !create && !t.layoutExists() {
		return nil, fmt.Errorf("no OCI layout at %s: %w", t.layout, ErrNotFound)
	}
	s, err := oci.New(t.layout)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout %s: %w", t.layout, err)
	}
	t.store = s
	return s, nil
}

// storage returns what reads content: the remote repository or the layout.
// For a layout that does not exist yet it returns ErrNotFound (or creates it
// when write is set).
func (t *Target) storage(write bool) (content.Storage, error) {
	if t.layout != "" {
		return t.layoutStore(write)
	}
	return t.repo, nil
}

// Resolve returns the descriptor of the manifest that reference (a tag or a
// digest) names. Errors wrap ErrNotFound when there is no such manifest.
func (t *Target) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if reference == "" {
		return ocispec.Descriptor{}, fmt.Errorf("resolve in %s: no tag or digest given; name the artifact as %s:TAG or %s@DIGEST", t, t, t)
	}
	var desc ocispec.Descriptor
	var err error
	if t.layout != "" {
		var s *oci.Store
		if s, err = t.layoutStore(false); err == nil {
			desc, err = s.Resolve(ctx, reference)
		}
	} else {
		desc, err = t.repo.Resolve(ctx, reference)
	}
	if err != nil {
		return ocispec.Descriptor{}, t.fail(err, "resolve %s in %s", reference, t)
	}
	return desc, nil
}

// FetchManifest returns the content of the manifest desc describes, after
// checking its size (at most spec.MaxManifestSize) and its digest.
func (t *Target) FetchManifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	b, err := t.fetchVerified(ctx, desc, spec.MaxManifestSize)
	if err != nil {
		return nil, t.fail(err, "fetch manifest %s from %s", desc.Digest, t)
	}
	return b, nil
}

// fetchVerified reads the content of desc, refusing it when desc.Size is
// above limit and checking that size and digest match what arrives.
func (t *Target) fetchVerified(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("size %d is over the limit of %d bytes", desc.Size, limit)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("invalid digest %q: %w", desc.Digest, err)
	}
	s, err := t.storage(false)
	if err != nil {
		return nil, err
	}
	rc, err := s.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc) // checks size and digest
	switch {
	case errors.Is(err, content.ErrTrailingData):
		return nil, fmt.Errorf("the registry sent more than the %d bytes listed: %w", desc.Size, err)
	case errors.Is(err, content.ErrMismatchedDigest):
		return nil, fmt.Errorf("the content does not match its digest: %w", err)
	}
	return b, err
}

// pushBlob pushes b, described by desc; content the target already has is
// not an error.
func (t *Target) pushBlob(ctx context.Context, desc ocispec.Descriptor, b []byte) error {
	s, err := t.storage(true)
	if err != nil {
		return err
	}
	err = s.Push(ctx, desc, bytes.NewReader(b))
	if errors.Is(err, errdef.ErrAlreadyExists) {
		return nil
	}
	return err
}

// repositoryURL is the base URL of the repository's API.
func (t *Target) repositoryURL() string {
	scheme := "https"
	if t.repo.PlainHTTP {
		scheme = "http"
	}
	return scheme + "://" + t.repo.Reference.Host() + "/v2/" + t.repo.Reference.Repository
}

// do sends one request through the Client's auth client, with the auth
// scope of the repository for actions.
func (t *Target) do(ctx context.Context, method, url string, body []byte, header http.Header, actions ...string) (*http.Response, error) {
	ctx = auth.AppendRepositoryScope(ctx, t.repo.Reference, actions...)
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return t.client.auth.Do(req)
}

// responseError turns an unexpected answer into an errcode.ErrorResponse,
// wrapping ErrNotFound for 404.
func responseError(resp *http.Response) error {
	er := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct {
		Errors errcode.Errors `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err == nil {
		er.Errors = body.Errors
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", er, ErrNotFound)
	}
	return er
}

// fail wraps err with what failed, and with the likely fix when err is a
// common setup mistake (once, however often the error is wrapped).
func (t *Target) fail(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	var hinted *hintedError
	if !errors.As(err, &hinted) {
		if h := t.hint(err); h != "" {
			err = &hintedError{err: err, hint: h}
		}
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// hintedError is an error with the fix a user most likely needs.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hintedError) Unwrap() error { return e.err }

// hint suggests a fix for err, or returns "".
func (t *Target) hint(err error) string {
	if t.layout != "" {
		return ""
	}
	host := t.ref.Registry
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		switch er.StatusCode {
		case http.StatusUnauthorized:
			if t.client.opts.Username != "" {
				return fmt.Sprintf("%s refused the given username and password: check -u/-p", host)
			}
			return fmt.Sprintf("log in with `docker login %s` or pass -u/-p", host)
		case http.StatusForbidden:
			return fmt.Sprintf("the credentials used for %s lack permission on %s", host, t.ref.Repository)
		case http.StatusBadRequest:
			if t.repo.PlainHTTP && (er.Method == http.MethodGet || er.Method == http.MethodHead) {
				// What an HTTPS-only server answers to plain HTTP.
				return fmt.Sprintf("if %s speaks HTTPS only, drop --plain-http (loopback hosts use HTTPS with --ca-file or --insecure)", host)
			}
		}
		return ""
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var dnsErr *net.DNSError
	var recordErr tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Sprintf("%s requires credentials: log in with `docker login %s` or pass -u/-p", host, host)
	case errors.Is(err, syscall.ECONNREFUSED):
		if t.repo.PlainHTTP {
			return fmt.Sprintf("is the registry running at %s?", host)
		}
		return fmt.Sprintf("is the registry running at %s? for an HTTP registry use --plain-http", host)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"), errors.As(err, &recordErr):
		return fmt.Sprintf("%s speaks plain HTTP: use --plain-http", host)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return fmt.Sprintf("the TLS certificate of %s is not trusted: pass its CA with --ca-file (or --insecure to skip verification)", host)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve the host %s: check the registry name", host)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout exceeded"):
		return fmt.Sprintf("%s did not answer in time: check the network or raise --timeout", host)
	}
	return ""
}
