package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/notaryproject/tspclient-go"
)

// MaxResponseSize bounds a TSA's response. A token with a chain of a few
// certificates is a few KiB.
const MaxResponseSize = 1 << 20

// Media types of RFC 3161 section 3.4, the time-stamp protocol via HTTP.
const (
	MediaTypeQuery = "application/timestamp-query"
	MediaTypeReply = "application/timestamp-reply"
)

// Request asks the TSA at endpoint (an http or https URL) for a timestamp
// token over message, hashed with hash (SHA-256, SHA-384 or SHA-512). The
// request carries a random nonce and asks for the TSA's certificate. The
// response must be HTTP 200 or 201 with at most MaxResponseSize bytes, a
// granted status, and a token that stamps exactly this request's message
// imprint and nonce; tspclient-go checks the rest of RFC 3161's response
// rules. Request does not verify who signed the token: Verify does that.
//
// client nil means http.DefaultClient; its timeout and ctx bound the exchange.
// Failures to reach the TSA or HTTP errors are *RequestError (ErrUnreachable,
// ErrHTTPStatus); the other errors wrap ErrRejected, ErrImprintMismatch,
// ErrNonceMismatch, ErrUnsupportedHash, ErrTooLarge or ErrMalformed.
func Request(ctx context.Context, client *http.Client, endpoint string, message []byte, hash crypto.Hash) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &RequestError{URL: endpoint, Err: fmt.Errorf("%w: the TSA URL must be an absolute http or https URL", ErrUnreachable)}
	}
	if err := checkHash(hash); err != nil {
		return nil, err
	}
	if message == nil {
		message = []byte{}
	}
	req, err := tspclient.NewRequest(tspclient.RequestOptions{Content: message, HashAlgorithm: hash})
	if err != nil {
		return nil, fmt.Errorf("timestamp request: %w", err)
	}
	der, err := req.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("timestamp request: %w", err)
	}
	body, err := post(ctx, client, endpoint, der)
	if err != nil {
		return nil, err
	}
	return checkResponse(endpoint, req, body)
}

// post sends an RFC 3161 query and returns the response body.
func post(ctx context.Context, client *http.Client, endpoint string, query []byte) ([]byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(query))
	if err != nil {
		return nil, &RequestError{URL: endpoint, Err: fmt.Errorf("%w: %v", ErrUnreachable, err)}
	}
	hreq.Header.Set("Content-Type", MediaTypeQuery)
	hreq.Header.Set("Accept", MediaTypeReply)
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, &RequestError{URL: endpoint, Err: fmt.Errorf("%w: %w", ErrUnreachable, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, &RequestError{URL: endpoint, StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: %s", ErrHTTPStatus, snippet(body))}
	}
	if err != nil {
		return nil, &RequestError{URL: endpoint, StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: reading the response: %w", ErrUnreachable, err)}
	}
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("%w: the response from %s is larger than %d bytes", ErrTooLarge, endpoint, MaxResponseSize)
	}
	return body, nil
}

// checkResponse parses a TimeStampResp and checks it answers req; it returns
// the token's bytes.
func checkResponse(endpoint string, req *tspclient.Request, body []byte) ([]byte, error) {
	var resp tspclient.Response
	rest, err := asn1.Unmarshal(body, &resp)
	if err != nil {
		return nil, fmt.Errorf("%w: the response from %s is not an RFC 3161 TimeStampResp: %v", ErrMalformed, endpoint, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: the response from %s has %d bytes after the TimeStampResp", ErrMalformed, endpoint, len(rest))
	}
	if err := resp.Status.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRejected, endpoint, err)
	}
	token, err := resp.SignedToken()
	if err != nil {
		return nil, fmt.Errorf("%w: the token from %s: %v", ErrMalformed, endpoint, err)
	}
	info, err := token.Info()
	if err != nil {
		return nil, fmt.Errorf("%w: the token from %s: %v", ErrMalformed, endpoint, err)
	}
	if !info.MessageImprint.Equal(req.MessageImprint) {
		return nil, fmt.Errorf("%w: %s stamped %x, not the requested %x", ErrImprintMismatch, endpoint, info.MessageImprint.HashedMessage, req.MessageImprint.HashedMessage)
	}
	if info.Nonce == nil || info.Nonce.Cmp(req.Nonce) != 0 {
		return nil, fmt.Errorf("%w: %s answered with nonce %v, the request had %v", ErrNonceMismatch, endpoint, info.Nonce, req.Nonce)
	}
	// The library's own checks: version, policy, genTime in UTC, and the
	// signing certificate present as certReq asked.
	if err := resp.Validate(req); err != nil {
		return nil, fmt.Errorf("%w: the response from %s: %v", ErrMalformed, endpoint, err)
	}
	return resp.TimestampToken.FullBytes, nil
}

// snippet returns the start of an error body, for a message.
func snippet(body []byte) string {
	const max = 200
	s := string(bytes.ToValidUTF8(bytes.TrimSpace(body), []byte("?")))
	if len(s) > max {
		s = s[:max] + "..."
	}
	if s == "" {
		return "empty body"
	}
	return fmt.Sprintf("%q", s)
}

// Client requests timestamps and verifies them before handing them out, as
// a signer should: a token that does not verify against Roots is an error.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// URL is the TSA's RFC 3161 endpoint.
	URL string
	// Roots are the trusted TSA root certificates.
	Roots []*x509.Certificate
}

// Timestamp requests a token over message hashed with hash and verifies it
// with Verify against c.Roots. Its signature fits a signer's timestamp hook
// (message is the signature value, hash the signature algorithm's hash).
func (c *Client) Timestamp(ctx context.Context, message []byte, hash crypto.Hash) ([]byte, error) {
	token, err := Request(ctx, c.HTTPClient, c.URL, message, hash)
	if err != nil {
		return nil, err
	}
	if _, err := Verify(token, message, c.Roots); err != nil {
		return nil, fmt.Errorf("the token from %s: %w", c.URL, err)
	}
	return token, nil
}
