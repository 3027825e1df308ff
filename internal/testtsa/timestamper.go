package testtsa

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/notaryproject/tspclient-go"
)

// Timestamper returns a tspclient-go Timestamper for this TSA, for the
// Notary Project's libraries (notation-go, notation-core-go) to sign with.
// The TSA answers 201 Created, which tspclient-go's own HTTP timestamper
// refuses; this one accepts 200 and 201 and checks the response against the
// request as tspclient-go does.
func (t *TSA) Timestamper() tspclient.Timestamper { return timestamper(t.URL) }

type timestamper string

func (u timestamper) Timestamp(ctx context.Context, req *tspclient.Request) (*tspclient.Response, error) {
	der, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, string(u), bytes.NewReader(der))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("TSA: %s", resp.Status)
	}
	var r tspclient.Response
	if err := r.UnmarshalBinary(body); err != nil {
		return nil, err
	}
	return &r, r.Validate(req)
}
