package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show the signatures of an artifact and their certificates",
		ArgsUsage: "REF",
		Description: "Shows each signature of REF: digest, algorithm, signing time, expiry,\n" +
			"signed metadata, and each certificate of its chain. It checks each\n" +
			"envelope's integrity but makes no trust decision: use 'nv2 verify' for that.\n" +
			"It also checks the revocation of each chain's certificates (OCSP, then CRLs)\n" +
			"and says what it found, unless --revocation skip.\n\n" +
			"   nv2 inspect registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "oci-layout", Usage: "REF is a local OCI image layout PATH[:tag|@digest]"},
			outputFlag(),
		}, append(revocationFlags(), registryFlags()...)...),
		Action: runInspect,
	}
}

type inspectResult struct {
	Reference  string             `json:"reference"`
	Subject    descriptor         `json:"subject"`
	Signatures []inspectSignature `json:"signatures"`
	// Platform and Manifests: an image index's manifests (platform.go).
	Platform  string          `json:"platform,omitempty"`
	Manifests []inspectResult `json:"manifests,omitempty"`
}

type inspectSignature struct {
	Digest       string     `json:"digest"`
	Algorithm    string     `json:"algorithm,omitempty"`
	SigningTime  *time.Time `json:"signingTime,omitempty"`
	Expiry       *time.Time `json:"expiry,omitempty"`
	SigningAgent string     `json:"signingAgent,omitempty"`
	// Timestamp is what the timestamp token says, read but not trusted.
	Timestamp    *timestampReport  `json:"timestamp,omitempty"`
	Annotations  map[string]string `json:"signedMetadata,omitempty"`
	Certificates []certificate     `json:"certificates,omitempty"`
	// Revocation is what the revocation check found for the certificates.
	Revocation []revocationReport `json:"revocation,omitempty"`
	// Error says why the signature could not be read or is not intact.
	Error string `json:"error,omitempty"`
}

func runInspect(c *cli.Context) error {
	raw, asJSON, err := refAndFormat(c)
	if err != nil {
		return err
	}
	if a := c.String("revocation"); a != "" {
		if _, err := trust.ParseRevocationAction(a); err != nil {
			return usageErrorf("--revocation: %v", err)
		}
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		found, err := client.Inspect(ctx, flows.Location{Ref: raw, Layout: c.Bool("oci-layout")})
		if err != nil {
			return err
		}
		if opts := revocationOptions(c); opts.Action != "skip" {
			flows.CheckRevocation(ctx, opts.Checker(), found)
		}
		res := toInspectResult(found)
		if asJSON {
			return writeJSON(c.App.Writer, res)
		}
		printf(c.App.Writer, "%s\n", res.Reference)
		printInspect(c.App.Writer, res, "")
		return nil
	})
}

// toInspectResult renders what Inspect found, an index's manifests too.
func toInspectResult(found *flows.InspectResult) inspectResult {
	res := inspectResult{Reference: found.Reference, Subject: toDescriptor(found.Subject), Signatures: []inspectSignature{},
		Platform: flows.FormatPlatform(found.Subject.Platform)}
	for _, sig := range found.Signatures {
		res.Signatures = append(res.Signatures, toInspectSignature(sig))
	}
	for _, m := range found.Manifests {
		res.Manifests = append(res.Manifests, toInspectResult(m))
	}
	return res
}

// printInspect prints the signatures of res, then its manifests (platform.go),
// indented by indent.
func printInspect(out io.Writer, res inspectResult, indent string) {
	w := indentWriter{out, indent}
	if len(res.Signatures) == 0 {
		printf(w, "  no signatures\n")
	}
	for _, s := range res.Signatures {
		s.printText(w)
	}
	printInspectManifests(out, res.Manifests, indent)
}

// printText prints one signature as inspect shows it.
func (s inspectSignature) printText(w io.Writer) {
	printf(w, "└── signature %s\n", s.Digest)
	if s.Error != "" {
		printf(w, "    error: %s\n", s.Error)
		return
	}
	printf(w, "    algorithm:     %s\n", s.Algorithm)
	printf(w, "    signing time:  %s\n", formatTime(*s.SigningTime))
	exp := "never"
	if s.Expiry != nil {
		exp = formatTime(*s.Expiry)
	}
	printf(w, "    expiry:        %s\n", exp)
	if s.SigningAgent != "" {
		printf(w, "    signing agent: %s\n", s.SigningAgent)
	}
	if s.Timestamp != nil {
		printf(w, "    timestamp:     %s (not verified)\n", s.Timestamp.text())
	}
	for _, k := range sortedKeys(s.Annotations) {
		printf(w, "    metadata:      %s=%s\n", k, s.Annotations[k])
	}
	for i, cert := range s.Certificates {
		printf(w, "    certificate %d:\n", i)
		printf(w, "      subject:    %s\n", cert.Subject)
		printf(w, "      issuer:     %s\n", cert.Issuer)
		printf(w, "      valid:      %s to %s\n", formatTime(cert.NotBefore), formatTime(cert.NotAfter))
		printf(w, "      sha256:     %s\n", cert.Thumbprint)
	}
	if len(s.Revocation) > 0 {
		printf(w, "    revocation:\n")
		printRevocation(w, "      ", s.Revocation)
	}
}

// toInspectSignature renders one signature Inspect read.
func toInspectSignature(sig flows.InspectedSignature) inspectSignature {
	s := inspectSignature{Digest: sig.Descriptor.Digest.String()}
	if sig.Err != nil {
		s.Error = sig.Err.Error()
		return s
	}
	env := sig.Envelope
	st := env.SigningTime.UTC()
	s.Algorithm, s.SigningTime, s.SigningAgent = string(env.Algorithm), &st, env.SigningAgent
	if !env.Expiry.IsZero() {
		exp := env.Expiry.UTC()
		s.Expiry = &exp
	}
	s.Annotations = env.Payload.TargetArtifact.Annotations
	s.Certificates = toCertificates(env.Chain)
	s.Timestamp = toTimestampReport(sig.Timestamp, sig.TimestampErr)
	s.Revocation = toRevocationReports(sig.Revocation)
	return s
}
