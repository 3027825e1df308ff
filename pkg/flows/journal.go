package flows

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// DefaultJournalDir is where Sign keeps envelopes until they are pushed:
// nv2/pending in the user's cache folder, or "" when there is none.
func DefaultJournalDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "nv2", "pending")
}

// A pending signature makes Sign idempotent across failures: the
// envelope is kept in the user's cache folder from just before its push
// until the push succeeds. When the registry goes away mid-push, the same
// command run again pushes that same envelope, and since pushing one
// envelope twice stores one signature, the artifact ends with exactly one
// new signature whichever request failed, not one per attempt.
//
// A pending envelope is reused only for the same repository, digest,
// certificate chain, signed metadata and expiry, while it is intact
// (verified against the subject with the signer's own certificate), not
// expired, and at most pendingMaxAge old; otherwise nv2 signs afresh.

// pendingMaxAge is how long an unpushed signature may be resumed.
const pendingMaxAge = 24 * time.Hour

// pendingSignature is the journal entry of one signing request.
type pendingSignature struct {
	path string
}

// pendingFor returns the journal entry in dir for signing subject in
// repository with chain, annotations, expiry and agent, or nil when dir is "".
func pendingFor(dir, repository string, subject ocispec.Descriptor, chain []*x509.Certificate, annotations map[string]string, expiry time.Duration, agent, tsa string) *pendingSignature {
	if dir == "" {
		return nil
	}
	key, err := json.Marshal(struct {
		Repository  string             `json:"repository"`
		Subject     ocispec.Descriptor `json:"subject"`
		Chain       []string           `json:"chain"`
		Annotations map[string]string  `json:"annotations"`
		Expiry      time.Duration      `json:"expiry"`
		Agent       string             `json:"agent"`
		TSA         string             `json:"tsa,omitempty"`
	}{repository, subject, nvcrypto.Thumbprints(chain), annotations, expiry, agent, tsa})
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(key)
	return &pendingSignature{path: filepath.Join(dir, hex.EncodeToString(sum[:])+".jws")}
}

// resume returns the pending envelope when it may be pushed again in place
// of a new signature, with its signing time; else nil.
func (p *pendingSignature) resume(subject ocispec.Descriptor, leaf *x509.Certificate, annotations map[string]string, now time.Time) ([]byte, time.Time) {
	if p == nil {
		return nil, time.Time{}
	}
	info, err := os.Lstat(p.path)
	if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) > pendingMaxAge {
		return nil, time.Time{}
	}
	raw, err := os.ReadFile(p.path)
	if err != nil {
		return nil, time.Time{}
	}
	env, err := trust.VerifyIntegrity(raw, subject)
	if err != nil || !reusable(env, leaf, annotations, now) {
		return nil, time.Time{}
	}
	return raw, env.SigningTime
}

// reusable reports whether env was made by the key of leaf with exactly
// annotations, and has not expired.
func reusable(env *signature.Envelope, leaf *x509.Certificate, annotations map[string]string, now time.Time) bool {
	if len(env.Chain) == 0 || !env.Chain[0].Equal(leaf) {
		return false
	}
	if !env.Expiry.IsZero() && !now.Before(env.Expiry) {
		return false
	}
	got := env.Payload.TargetArtifact.Annotations
	return len(got) == len(annotations) && maps.Equal(got, annotations)
}

// save records envelope before its push (owner-only, atomically).
func (p *pendingSignature) save(envelope []byte) error {
	if p == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return err
	}
	return nvcrypto.WriteFileAtomic(p.path, envelope, 0o600, true)
}

// done forgets the entry once its signature is pushed.
func (p *pendingSignature) done() {
	if p == nil {
		return
	}
	_ = os.Remove(p.path)
}
