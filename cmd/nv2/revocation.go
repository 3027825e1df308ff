package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// defaultRevocationTimeout bounds each OCSP or CRL request.
const defaultRevocationTimeout = 5 * time.Second

// revocationAdvice follows a signature rejected by the revocation check.
const revocationAdvice = "a revoked certificate must not be trusted; for an unknown status check the network, raise --revocation-timeout, or carry the data with 'nv2 revocation fetch' and --revocation-data"

// revocationFlags are the flags of the commands that check revocation.
func revocationFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "revocation", Usage: "with --cert: a revoked or unknown status does enforce (default), log or skip"},
		&cli.DurationFlag{Name: "revocation-timeout", Value: defaultRevocationTimeout, Usage: "give up on an OCSP responder or CRL server after this long (the status is then unknown)"},
		&cli.StringFlag{Name: "revocation-data", Usage: "check revocation only with the OCSP responses and CRLs in `DIR` (from 'nv2 revocation fetch'): no network"},
	}
}

// revocationOptions reads revocationFlags.
func revocationOptions(c *cli.Context) flows.RevocationOptions {
	return flows.RevocationOptions{Action: c.String("revocation"), Timeout: c.Duration("revocation-timeout"), OfflineDir: c.String("revocation-data")}
}

func revocationCommand() *cli.Command {
	return &cli.Command{
		Name:  "revocation",
		Usage: "carry revocation data to machines with no network",
		Subcommands: []*cli.Command{{
			Name:      "fetch",
			Usage:     "fetch the OCSP responses and CRLs that verifying REFs needs into a folder",
			ArgsUsage: "REF... | --chain FILE...",
			Description: "Checks the revocation of every certificate of every signature of each REF\n" +
				"(and of each --chain file: PEM, leaf first, ending at the root), and writes\n" +
				"the OCSP responses and CRLs used into DIR. Carry DIR to a machine with no\n" +
				"network and verify there with 'nv2 verify --revocation-data DIR'; data past\n" +
				"its nextUpdate then counts as unknown. Exits 1 when some certificate's\n" +
				"data could not be fetched.\n\n" +
				"   nv2 revocation fetch --out ./revocation registry.example/net-monitor:v1",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "out", Usage: "write the data into `DIR` (created if missing); required"},
				&cli.StringSliceFlag{Name: "chain", Usage: "also fetch for the certificate chain in `FILE` (repeatable)"},
				&cli.BoolFlag{Name: "oci-layout", Usage: "each REF is a local OCI image layout PATH[:tag|@digest]"},
				&cli.DurationFlag{Name: "revocation-timeout", Value: defaultRevocationTimeout, Usage: "give up on an OCSP responder or CRL server after this long"},
				outputFlag(),
			}, registryFlags()...),
			Action: runRevocationFetch,
		}},
	}
}

type fetchedChain struct {
	Source       string             `json:"source"`
	Certificates []revocationReport `json:"certificates"`
	Error        string             `json:"error,omitempty"`
}

func runRevocationFetch(c *cli.Context) error {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	opts := flows.FetchRevocationOptions{CertFiles: c.StringSlice("chain"), Dir: c.String("out"), Timeout: c.Duration("revocation-timeout")}
	switch {
	case opts.Dir == "":
		return usageErrorf("'%s' needs --out DIR: where to write the revocation data", c.Command.HelpName)
	case c.NArg() == 0 && len(opts.CertFiles) == 0:
		return usageErrorf("'%s' needs at least one reference or --chain FILE", c.Command.HelpName)
	}
	for _, raw := range c.Args().Slice() {
		opts.Artifacts = append(opts.Artifacts, flows.Location{Ref: raw, Layout: c.Bool("oci-layout")})
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		chains, err := client.FetchRevocationData(ctx, opts)
		if chains == nil {
			return err
		}
		out := make([]fetchedChain, len(chains))
		for i, ch := range chains {
			out[i] = fetchedChain{Source: ch.Source, Certificates: toRevocationReports(ch.Results)}
			if ch.Err != nil {
				out[i].Error = ch.Err.Error()
			}
		}
		if asJSON {
			if werr := writeJSON(c.App.Writer, out); werr != nil {
				return werr
			}
		} else {
			for _, ch := range out {
				printf(c.App.Writer, "%s\n", ch.Source)
				printRevocation(c.App.Writer, "  ", ch.Certificates)
			}
		}
		if err != nil {
			return withCode(exitError, errors.New("some revocation data could not be fetched; a verification using it will find those certificates' status unknown"))
		}
		printf(c.App.ErrWriter, "Revocation data written to %s: verify with --revocation-data %s\n", opts.Dir, opts.Dir)
		return nil
	})
}

// revocationReport is what the revocation check found for one certificate.
type revocationReport struct {
	Subject   string     `json:"subject"`
	Status    string     `json:"status"`
	Method    string     `json:"method,omitempty"`
	Source    string     `json:"source,omitempty"`
	Responder string     `json:"responder,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Error says why the status is unknown, or why it was not checked.
	Error string `json:"error,omitempty"`
}

func toRevocationReports(results []revocation.Result) []revocationReport {
	out := make([]revocationReport, 0, len(results))
	for _, r := range results {
		rep := revocationReport{Status: r.Status.String(), Method: string(r.Method), Source: string(r.Source), Responder: r.Responder}
		if r.Cert != nil {
			rep.Subject = r.Cert.Subject.String()
		}
		if r.Status == revocation.Revoked {
			at := r.RevokedAt.UTC()
			rep.RevokedAt, rep.Reason = &at, trust.ReasonName(r.Reason)
		}
		if r.Err != nil {
			rep.Error = r.Err.Error()
		}
		out = append(out, rep)
	}
	return out
}

// printRevocation writes one line per certificate checked.
func printRevocation(w io.Writer, indent string, reports []revocationReport) {
	for _, r := range reports {
		line := r.Status
		switch {
		case r.RevokedAt != nil:
			line += " at " + formatTime(*r.RevokedAt) + " (" + r.Reason + ")"
		case r.Error != "":
			line += ": " + r.Error
		}
		if r.Method != "" {
			line += ", by " + r.Method + " from " + r.Responder + " (" + r.Source + ")"
		}
		printf(w, "%s%s: %s\n", indent, r.Subject, line)
	}
}
