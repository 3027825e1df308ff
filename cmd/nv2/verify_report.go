package main

import (
	"context"
	"errors"
	"fmt"
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
	Verified  string              `json:"verifiedReference"`
	Status    trust.Status        `json:"status"`
	Policy    string              `json:"policy"`
	Level     string              `json:"level"`
	Subject   *descriptor         `json:"subject"`
	Signature *signatureReport    `json:"signature"`
	Found     int                 `json:"signaturesFound"`
	Tried     int                 `json:"signaturesTried"`
	Rejected  []rejectedSignature `json:"rejected"`
	Error     string              `json:"error"`
	// Platform: with --platform, which manifest verified and whose
	// signature vouched for it; null without.
	Platform *platformReport `json:"platform"`
	code     int
}

type signatureReport struct {
	Digest      string            `json:"digest"`
	Algorithm   string            `json:"algorithm"`
	Signer      string            `json:"signer"`
	SigningTime time.Time         `json:"signingTime"`
	Expiry      *time.Time        `json:"expiry"`
	Annotations map[string]string `json:"annotations"`
	Warnings    []string          `json:"warnings"`
	// Revocation is what the revocation check found; empty when skipped.
	Revocation []revocationReport `json:"revocation"`
	// Timestamp is the trusted timestamp the policy checked, if any.
	Timestamp *timestampReport `json:"timestamp"`
}

type rejectedSignature struct {
	Digest string `json:"digest"`
	// Check is the check the signature failed (integrity, authenticity,
	// authenticTimestamp, expiry, signedMetadata), or "fetch" when it could
	// not be read.
	Check  string `json:"check"`
	Reason string `json:"reason"`
	err    error
}

// toVerifyResult renders one verdict.
func toVerifyResult(prog string, r flows.VerifyResult) verifyResult {
	out := verifyResult{Reference: r.Reference, Verified: r.Verified, Status: trust.Failed, Rejected: []rejectedSignature{}, code: exitCode(r.Err), Platform: toPlatformReport(r.Platform)}
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
			SigningTime: env.SigningTime.UTC(), Annotations: orEmpty(env.Payload.TargetArtifact.Annotations), Warnings: listOf(s.Warnings),
			Revocation: listOf(toRevocationReports(s.Revocation)),
			Timestamp:  toTimestampReport(s.Timestamp, nil),
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
		check := "fetch"
		if ce := (*trust.CheckError)(nil); errors.As(s.Err, &ce) {
			check = ce.Check
		}
		out.Rejected = append(out.Rejected, rejectedSignature{Digest: s.Digest.String(), Check: check, Reason: s.Err.Error(), err: s.Err})
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
			for _, hint := range r.notVerifiedHints(c.App.Name, strings.Contains(c.Command.HelpName, " blob ")) {
				printf(ew, "  %s\n", hint)
			}
		}
	}
}

// notVerifiedHints says what to do next for each distinct reason the
// signatures were rejected, in the order they were tried.
func (r *verifyResult) notVerifiedHints(prog string, blob bool) []string {
	var hints []string
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			hints = append(hints, h)
		}
	}
	for _, rej := range r.Rejected {
		add(rejectionHint(prog, blob, rej.err))
	}
	if r.Tried < r.Found {
		add("only some signatures were tried: raise --max-signatures to try more")
	}
	return hints
}

// rejectionHint is the next step for a signature rejected with err (of a
// blob, with blob set).
func rejectionHint(prog string, blob bool, err error) string {
	var mismatch *trust.SubjectMismatchError
	var ce *trust.CheckError
	switch {
	case blob && errors.As(err, &ce) && ce.Check == trust.CheckIntegrity:
		return "the file is not the one that was signed, or the signature is not a blob signature of it"
	case errors.As(err, &mismatch):
		return fmt.Sprintf("a signature signs another artifact (%s), not this one: sign this digest with '%s sign'", mismatch.Signed.Digest, prog)
	case !errors.As(err, &ce):
		return "a signature could not be read from the registry: run the command again, or check the registry"
	}
	switch ce.Check {
	case trust.CheckIntegrity:
		return fmt.Sprintf("a signature is damaged or breaks the signature format's rules: sign again with '%s sign'", prog)
	case trust.CheckAuthenticTimestamp:
		return fmt.Sprintf("a certificate of the signature is not valid now, or was not when it signed: sign again with a valid certificate ('%s cert generate' makes one)", prog)
	case trust.CheckExpiry:
		return fmt.Sprintf("the signature has expired: sign again with '%s sign', with a longer --expiry or none", prog)
	case trust.CheckRevocation:
		return revocationAdvice
	case trust.CheckMetadata:
		return fmt.Sprintf("the signature lacks the signed metadata --annotation requires: sign with '%s sign -a KEY=VALUE', or verify without it", prog)
	}
	if blob {
		return fmt.Sprintf("the signer is not one your trust settings accept; check --cert or the blob trust policy ('%s blob policy show')", prog)
	}
	return fmt.Sprintf("no signature is from a signer your trust settings accept; check --cert or the trust policy ('%s policy show')", prog)
}
