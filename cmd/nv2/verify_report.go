package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// verifyResult is the report for one REF.
type verifyResult struct {
	Reference string `json:"reference"`
	// Verified is repo@digest of what verified: what a pull should use.
	Verified  string              `json:"verifiedReference,omitempty"`
	Status    trust.Status        `json:"status"`
	Policy    string              `json:"policy,omitempty"`
	Level     string              `json:"level,omitempty"`
	Subject   *descriptor         `json:"subject,omitempty"`
	Signature *signatureReport    `json:"signature,omitempty"`
	Found     int                 `json:"signaturesFound"`
	Tried     int                 `json:"signaturesTried"`
	Rejected  []rejectedSignature `json:"rejected,omitempty"`
	Error     string              `json:"error,omitempty"`
	// Platform: with --platform, which manifest verified and whose
	// signature vouched for it.
	Platform *platformReport `json:"platform,omitempty"`
	code     int
	// revocation: a signature was rejected only by the revocation check.
	revocation bool
}

type signatureReport struct {
	Digest      string     `json:"digest"`
	Algorithm   string     `json:"algorithm"`
	Signer      string     `json:"signer"`
	SigningTime time.Time  `json:"signingTime"`
	Expiry      *time.Time `json:"expiry,omitempty"`
	// Timestamp is the trusted timestamp the policy checked, if any.
	Timestamp   *timestampReport  `json:"timestamp,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	// Revocation is what the revocation check found; absent when skipped.
	Revocation []revocationReport `json:"revocation,omitempty"`
}

type rejectedSignature struct {
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// toVerifyResult renders one verdict.
func toVerifyResult(prog string, r flows.VerifyResult) verifyResult {
	out := verifyResult{Reference: r.Reference, Verified: r.Verified, Status: trust.Failed, code: exitCode(r.Err), Platform: toPlatformReport(r.Platform)}
	if r.Err != nil {
		out.Error = advise(prog, r.Err).Error()
	}
	res := r.Result
	if res == nil {
		return out
	}
	out.Status, out.Policy, out.Level, out.Found, out.Tried = res.Status, res.Policy, res.Level, res.Found, res.Tried
	if res.Subject.Digest != "" {
		d := toDescriptor(res.Subject)
		out.Subject = &d
	}
	out.Error = ""
	if res.Err != nil {
		out.Error = advise(prog, res.Err).Error()
		if errors.Is(res.Err, context.DeadlineExceeded) && !strings.Contains(out.Error, "--timeout") {
			out.Error += "; the registry did not answer within --timeout: check the network or raise --timeout"
		}
	}
	if s := res.Signature; s != nil {
		env := s.Envelope
		out.Signature = &signatureReport{
			Digest: s.Digest.String(), Algorithm: string(env.Algorithm), Signer: env.Chain[0].Subject.String(),
			SigningTime: env.SigningTime.UTC(), Annotations: env.Payload.TargetArtifact.Annotations, Warnings: s.Warnings,
			Timestamp:  toTimestampReport(s.Timestamp, nil),
			Revocation: toRevocationReports(s.Revocation),
		}
		if !env.Expiry.IsZero() {
			exp := env.Expiry.UTC()
			out.Signature.Expiry = &exp
		}
		if out.Subject != nil && out.Subject.MediaType == "" {
			// Verified by digest: the signed descriptor says what it is.
			t := env.Payload.TargetArtifact
			out.Subject.MediaType, out.Subject.Size = t.MediaType, t.Size
		}
	}
	for _, s := range res.Rejected {
		out.Rejected = append(out.Rejected, rejectedSignature{Digest: s.Digest.String(), Reason: s.Err.Error()})
		var re *trust.RevocationError
		out.revocation = out.revocation || errors.As(s.Err, &re)
	}
	return out
}

func (r *verifyResult) printText(c *cli.Context) {
	w, ew := c.App.Writer, c.App.ErrWriter
	switch r.Status {
	case trust.Verified:
		s := r.Signature
		printf(w, "Verified %s\n", r.Verified)
		printf(w, "  signer:       %s\n", s.Signer)
		printf(w, "  signed at:    %s\n", formatTime(s.SigningTime))
		if s.Expiry != nil {
			printf(w, "  expires at:   %s\n", formatTime(*s.Expiry))
		}
		if s.Timestamp != nil {
			printf(w, "  timestamp:    %s\n", s.Timestamp.text())
		}
		printf(w, "  signature:    %s (%s)\n", s.Digest, s.Algorithm)
		printf(w, "  trust policy: %s (%s)\n", r.Policy, r.Level)
		r.printPlatform(c) // platform.go
		for _, k := range sortedKeys(s.Annotations) {
			printf(w, "  metadata:     %s=%s\n", k, s.Annotations[k])
		}
		if len(s.Revocation) > 0 {
			printf(w, "  revocation:\n")
			printRevocation(w, "    ", s.Revocation)
		}
		for _, warn := range s.Warnings {
			printf(ew, "Warning: %s: %s\n", r.Reference, warn)
		}
	case trust.Skipped:
		printf(w, "Skipped %s: trust policy %q has level skip, so nothing was verified\n", r.Verified, r.Policy)
	default:
		printf(ew, "nv2: %s: %s\n", r.Reference, r.Error)
		r.printPlatform(c)
		for _, rej := range r.Rejected {
			printf(ew, "  %s: %s\n", rej.Digest, rej.Reason)
		}
		switch r.code {
		case exitNoSignature:
			printf(ew, "  sign it with '%s sign', or check that REF names the image you meant\n", c.App.Name)
		case exitNotVerified:
			if r.revocation {
				printf(ew, "  %s\n", revocationAdvice)
			}
			blob := strings.Contains(c.Command.HelpName, " blob ")
			switch {
			case blob && len(r.Rejected) == 1 && strings.HasPrefix(r.Rejected[0].Reason, "integrity:"):
				printf(ew, "  the file is not the one that was signed, or the signature is not a blob signature of it\n")
			case blob:
				printf(ew, "  the signer is not one your trust settings accept; check --cert or the blob trust policy ('%s blob policy show')\n", c.App.Name)
			default:
				printf(ew, "  no signature is from a signer your trust settings accept; check --cert or the trust policy ('%s policy show')\n", c.App.Name)
			}
		}
	}
}
