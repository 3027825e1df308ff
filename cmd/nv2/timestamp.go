package main

import (
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// timestampFlags are sign's RFC 3161 flags, named as notation names them.
func timestampFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "timestamp-url", Usage: "timestamp the signature with the RFC 3161 Time Stamping Authority at `URL`"},
		&cli.StringFlag{Name: "timestamp-root-cert", Usage: "the TSA's root certificate `FILE` (PEM) its tokens must chain to; with --timestamp-url"},
	}
}

// timestampClient reads --timestamp-url and --timestamp-root-cert (with the
// docker plugin, its configured ones when neither is given); nil when no
// timestamp is asked for.
func timestampClient(c *cli.Context, cfg *dockerplugin.Config) (*timestamp.Client, error) {
	url, root := c.String("timestamp-url"), c.String("timestamp-root-cert")
	if cfg != nil && !c.IsSet("timestamp-url") && !c.IsSet("timestamp-root-cert") {
		url, root = cfg.TimestampURL, cfg.TimestampRootCert
	}
	switch {
	case url == "" && root == "":
		return nil, nil
	case url == "":
		return nil, usageErrorf("--timestamp-root-cert needs --timestamp-url URL: the TSA to ask")
	case root == "":
		return nil, usageErrorf("--timestamp-url needs --timestamp-root-cert FILE: the TSA root certificate its tokens must chain to")
	}
	return flows.NewTimestampClient(url, root)
}

// setTimestamp applies 'docker nv2 config set --timestamp-url URL
// --timestamp-root-cert FILE' to cfg; an empty URL turns timestamps off.
func setTimestamp(c *cli.Context, cfg *dockerplugin.Config, abs func(flag, f string) (string, error)) error {
	if !c.IsSet("timestamp-url") && !c.IsSet("timestamp-root-cert") {
		return nil
	}
	if c.IsSet("timestamp-url") && c.String("timestamp-url") == "" {
		cfg.TimestampURL, cfg.TimestampRootCert = "", ""
		return nil
	}
	if !c.IsSet("timestamp-url") || !c.IsSet("timestamp-root-cert") {
		return usageErrorf("--timestamp-url URL and --timestamp-root-cert FILE go together")
	}
	root, err := abs("timestamp-root-cert", c.String("timestamp-root-cert"))
	if err != nil {
		return err
	}
	if _, err := flows.NewTimestampClient(c.String("timestamp-url"), root); err != nil {
		return err
	}
	cfg.TimestampURL, cfg.TimestampRootCert = c.String("timestamp-url"), root
	return nil
}

// timestampReport is a signature's timestamp as verify and inspect show it.
type timestampReport struct {
	Time time.Time `json:"time"`
	// Accuracy is the token's accuracy, as a Go duration ("1s").
	Accuracy string `json:"accuracy"`
	// TSA is the subject of the certificate that signed the token.
	TSA string `json:"tsa"`
	// Error says why a token could not be read (inspect only).
	Error string `json:"error,omitempty"`
}

// toTimestampReport renders ts, or err; nil when there is neither.
func toTimestampReport(ts *timestamp.Timestamp, err error) *timestampReport {
	switch {
	case err != nil:
		return &timestampReport{Error: err.Error()}
	case ts == nil:
		return nil
	}
	r := &timestampReport{Time: ts.Time.UTC(), Accuracy: ts.Accuracy.String()}
	if len(ts.TSAChain) > 0 {
		r.TSA = ts.TSAChain[0].Subject.String()
	}
	return r
}

// text is the report on one line.
func (r *timestampReport) text() string {
	if r.Error != "" {
		return "unreadable: " + r.Error
	}
	return formatTime(r.Time) + " ±" + r.Accuracy + " by " + r.TSA
}

// timestampAdvice words the fix for a failed timestamp request while signing.
func timestampAdvice(err error) string {
	switch {
	case errors.Is(err, timestamp.ErrUnreachable):
		return "check --timestamp-url and that the TSA is running; nothing was pushed or written"
	case errors.Is(err, timestamp.ErrHTTPStatus):
		return "check that --timestamp-url is the TSA's RFC 3161 endpoint; nothing was pushed or written"
	case errors.Is(err, timestamp.ErrUntrusted):
		return "check that --timestamp-root-cert is the root of the TSA's chain; nothing was pushed or written"
	}
	return "nothing was pushed or written"
}
