package flows

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// RoleBlob is the role, in a FileError, of the file being signed or verified.
const RoleBlob = "blob"

// Stdin is the Path that names the standard input as the blob.
const Stdin = "-"

// BlobSignatureSuffix is what notation appends to a blob's file name to name
// its detached JWS signature.
const BlobSignatureSuffix = ".jws.sig"

// BlobSignOptions say what BlobSign signs, with what, and where the
// signature goes.
type BlobSignOptions struct {
	// Signer signs; required (see LoadSigner).
	Signer *signature.Signer
	// Path is the file to sign; Stdin ("-") reads Input instead.
	Path  string
	Input io.Reader
	// MediaType is the blob's media type in the payload;
	// signature.MediaTypeBlob when empty.
	MediaType string
	// Expiry, when positive, makes the signature expire that long after signing.
	Expiry time.Duration
	// Annotations are signed metadata (the payload's annotations).
	Annotations map[string]string
	// SignatureOut is the file the envelope is written to (mode 0644,
	// atomically): Path with BlobSignatureSuffix when empty, and required
	// for Stdin.
	SignatureOut string
	// Force replaces an existing SignatureOut; without it an existing file
	// is an *nvcrypto.ExistsError and the blob is not read.
	Force bool
	// Timestamper, when set, countersigns the signature with an RFC 3161
	// timestamp token (a timestamp.Client's Timestamp, for example), which
	// the envelope carries in io.cncf.notary.timestampSignature.
	Timestamper signature.Timestamper
	// Timestamp, when set (and Timestamper is not), asks its Time Stamping
	// Authority for the token, as SignOptions.Timestamp does: a failure is
	// a *TimestampError and nothing is written.
	Timestamp *timestamp.Client
	// SigningAgent goes into the envelope (io.cncf.notary.signingAgent).
	SigningAgent string
	// Now is the signing time; time.Now when nil.
	Now func() time.Time
}

// BlobSignResult is what BlobSign did.
type BlobSignResult struct {
	// Blob describes the signed blob as the payload does.
	Blob ocispec.Descriptor
	// SignatureFile is where the envelope was written; Envelope describes it.
	SignatureFile string
	Envelope      ocispec.Descriptor
	Algorithm     nvcrypto.Algorithm
}

// BlobSign signs a file of any size with a detached signature in the
// Notary Project's blob format, with no network: the file is hashed as a
// stream, once, with the digest algorithm the key dictates
// (signature.BlobDigestAlgorithm), and the envelope is written to
// SignatureOut. ctx bounds the Timestamper. Nothing is written when an
// error is returned.
func BlobSign(ctx context.Context, opts BlobSignOptions) (*BlobSignResult, error) {
	switch {
	case opts.Signer == nil:
		return nil, usagef("no signing key and certificate given")
	case opts.Path == "":
		return nil, usagef("no file to sign")
	case opts.Path == Stdin && opts.SignatureOut == "":
		return nil, usagef("signing the standard input needs a file to write the signature to")
	case opts.Expiry < 0:
		return nil, usagef("expiry %s must be positive", opts.Expiry)
	}
	if opts.Timestamper == nil && opts.Timestamp != nil {
		opts.Timestamper = timestamperOf(opts.Timestamp)
	}
	res := &BlobSignResult{Algorithm: opts.Signer.Algorithm(), SignatureFile: opts.SignatureOut}
	if res.SignatureFile == "" {
		res.SignatureFile = opts.Path + BlobSignatureSuffix
	}
	if _, err := os.Lstat(res.SignatureFile); err == nil && !opts.Force {
		return nil, &FileError{Role: RoleSignatureOut, Path: res.SignatureFile, Err: &nvcrypto.ExistsError{Path: res.SignatureFile}}
	}
	alg, err := signature.BlobDigestAlgorithm(res.Algorithm)
	if err != nil {
		return nil, err
	}
	d, size, err := hashBlob(opts.Path, opts.Input, alg)
	if err != nil {
		return nil, err
	}
	res.Blob = ocispec.Descriptor{MediaType: opts.MediaType, Digest: d, Size: size}
	if res.Blob.MediaType == "" {
		res.Blob.MediaType = signature.MediaTypeBlob
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	req := signature.SignRequest{Target: res.Blob, Annotations: opts.Annotations, SigningTime: now(), SigningAgent: opts.SigningAgent, Timestamper: opts.Timestamper}
	if opts.Expiry > 0 {
		req.Expiry = req.SigningTime.Add(opts.Expiry)
	}
	env, err := opts.Signer.SignContext(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := nvcrypto.WriteFileAtomic(res.SignatureFile, env, 0o644, opts.Force); err != nil {
		return nil, &FileError{Role: RoleSignatureOut, Path: res.SignatureFile, Err: err}
	}
	res.Blob.Annotations = opts.Annotations
	res.Envelope = content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, env)
	return res, nil
}

// BlobVerifyOptions say which blob signature BlobVerify checks, and against
// what.
type BlobVerifyOptions struct {
	// Verifier decides trust: NewBlobVerifier, or NewVerifier for
	// certificates trusted directly.
	Verifier *trust.Verifier
	// PolicyName selects the blob trust policy; "" selects its global policy.
	PolicyName string
	// Path is the file the signature must sign; Stdin ("-") reads Input.
	Path  string
	Input io.Reader
	// SignatureFile holds the detached envelope.
	SignatureFile string
	// MediaType, when set, must be the signed media type.
	MediaType string
}

// BlobVerify verifies a detached blob signature (trust.Verifier.VerifyBlob)
// with no network, reading the file once, as a stream, and only after the
// envelope passed its own checks. The result names the blob FILE@digest.
func BlobVerify(opts BlobVerifyOptions) VerifyResult {
	r := VerifyResult{Reference: opts.Path}
	if opts.Verifier == nil || opts.Path == "" || opts.SignatureFile == "" {
		r.Err = usagef("verifying a blob needs a verifier, the file and its signature")
		return r
	}
	envelope, err := readFileLimit(RoleSignature, opts.SignatureFile, spec.MaxEnvelopeSize)
	if err != nil {
		r.Err = err
		return r
	}
	res := opts.Verifier.VerifyBlob(opts.PolicyName, envelope, opts.MediaType, func(alg digest.Algorithm) (digest.Digest, int64, error) {
		return hashBlob(opts.Path, opts.Input, alg)
	})
	r.verdict(res, func(d digest.Digest) string {
		if d == "" {
			return opts.Path // skipped: the file was not read
		}
		return opts.Path + "@" + d.String()
	})
	return r
}

// BlobInspect reads the detached envelope in sigFile and checks its
// integrity, making no trust decision. An envelope that is not intact is an
// *IntegrityError.
func BlobInspect(sigFile string) (*InspectedSignature, error) {
	envelope, err := readFileLimit(RoleSignature, sigFile, spec.MaxEnvelopeSize)
	if err != nil {
		return nil, err
	}
	s := &InspectedSignature{Descriptor: content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, envelope)}
	if s.Envelope, err = signature.Verify(envelope); err != nil {
		return nil, &IntegrityError{Err: err}
	}
	return s, nil
}

// NewBlobVerifier builds the verifier for blobs: the certificates of
// opts.CertFiles trusted directly, a blob trust policy file
// (opts.PolicyFile), or the configured blob trust policy and trust stores.
// With no trust configured at all the error wraps trust.ErrNoBlobPolicyFile.
func NewBlobVerifier(opts TrustOptions) (*trust.Verifier, error) {
	if len(opts.CertFiles) > 0 {
		return NewVerifier(opts) // refuses a policy file beside them
	}
	doc, cfg, err := policyDocument(opts, trust.ParseBlobPolicy, trust.Config.LoadBlobPolicy)
	if err != nil {
		return nil, err
	}
	return trust.NewBlobPolicyVerifier(doc, cfg), nil
}

// hashBlob reads the file at path (or in, for Stdin) to its end as a stream
// and returns its digest with alg and its size: memory stays constant
// whatever the size.
func hashBlob(path string, in io.Reader, alg digest.Algorithm) (digest.Digest, int64, error) {
	r := in
	if path != Stdin {
		f, err := os.Open(path)
		if err != nil {
			return "", 0, &FileError{Role: RoleBlob, Path: path, Err: err}
		}
		defer f.Close()
		r = f
	} else if in == nil {
		return "", 0, usagef("no input to read the blob from")
	}
	d, size, err := DigestStream(r, alg)
	if err != nil {
		return "", 0, &FileError{Role: RoleBlob, Path: path, Err: fmt.Errorf("read %s: %w", path, err)}
	}
	return d, size, nil
}

// DigestStream hashes r to its end with alg and returns the digest and the
// number of bytes read, through one fixed buffer.
func DigestStream(r io.Reader, alg digest.Algorithm) (digest.Digest, int64, error) {
	if !alg.Available() {
		return "", 0, fmt.Errorf("digest algorithm %q is not available", alg)
	}
	dg := alg.Digester()
	// Hidden behind a plain Reader, so that the 1 MiB buffer is used even
	// when r has its own WriteTo.
	n, err := io.CopyBuffer(dg.Hash(), struct{ io.Reader }{r}, make([]byte, 1<<20))
	if err != nil {
		return "", n, err
	}
	return dg.Digest(), n, nil
}
