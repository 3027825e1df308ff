// Package distribution sends the OCI distribution-protocol requests that
// oras-go does not offer, and keeps the referrers tag schema index.
package distribution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Repository sends raw requests to one remote repository through the client
// of Repo (its auth client: one connection pool and token cache). Cap holds
// what was learned about the repository and may be shared by several
// Repositories; Settle tunes the referrers index protocol.
type Repository struct {
	Repo   *remote.Repository
	Cap    *Capability
	Settle Settle
}

// String names the repository: "host/repository".
func (r *Repository) String() string {
	return r.Repo.Reference.Registry + "/" + r.Repo.Reference.Repository
}

// URL is the base URL of the repository's API.
func (r *Repository) URL() string {
	scheme := "https"
	if r.Repo.PlainHTTP {
		scheme = "http"
	}
	return scheme + "://" + r.Repo.Reference.Host() + "/v2/" + r.Repo.Reference.Repository
}

// do sends one request with the auth scope of the repository for actions.
func (r *Repository) do(ctx context.Context, method, url string, body []byte, header http.Header, actions ...string) (*http.Response, error) {
	ctx = auth.AppendRepositoryScope(ctx, r.Repo.Reference, actions...)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return r.Repo.Client.Do(req)
}

// constError is an error that can be a constant.
type constError string

func (e constError) Error() string { return string(e) }

// responseError turns an unexpected answer into an errcode.ErrorResponse,
// wrapping errdef.ErrNotFound for 404.
func responseError(resp *http.Response) error {
	er := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct {
		Errors errcode.Errors `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err == nil {
		er.Errors = body.Errors
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", er, errdef.ErrNotFound)
	}
	return er
}

// IsBlobUnknown reports whether err is a registry's answer that a manifest
// names a blob it does not hold.
func IsBlobUnknown(err error) bool {
	var er *errcode.ErrorResponse
	return errors.As(err, &er) && (hasCode(er, errcode.ErrorCodeManifestBlobUnknown) || hasCode(er, errcode.ErrorCodeBlobUnknown))
}

func hasCode(er *errcode.ErrorResponse, code string) bool {
	for _, e := range er.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes.
func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// RedactURL returns u as text with user info and secret query values removed.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	if c.RawQuery != "" {
		// Query parameter names (lowercase substrings) whose values are
		// credentials in practice: OAuth2 token endpoints, pre-signed blob
		// URLs of cloud storage (S3 X-Amz-Signature/Credential, Azure sig).
		secretParams := []string{"token", "password", "secret", "signature", "credential", "sig", "key", "code", "auth", "_state"}
		q := c.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range secretParams {
				if strings.Contains(lk, s) {
					q[k] = []string{"redacted"}
					break
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}
