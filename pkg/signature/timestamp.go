package signature

import (
	"context"
	stdcrypto "crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Timestamper returns an RFC 3161 timestamp token (DER) over signatureValue,
// the decoded JWS signature, hashed with hash. The timestamp package's
// Client.Timestamp is one.
//
// What is stamped follows the Notary Project specifications: the JWS
// envelope's io.cncf.notary.timestampSignature is "a base64-encoded
// countersignature that proves the signature was generated before the
// timestamp", and verifiers "validate that the timestamp hash in
// TSTInfo.messageImprint matches the hash of the signature to which the
// timestamp was applied". The message is therefore the signature value, and
// the hash is the one of the signature algorithm (SHA-256 for PS256 and
// ES256, SHA-384 for PS384 and ES384, SHA-512 for PS512 and ES512), as the
// Notary Project's own signer does.
type Timestamper func(ctx context.Context, signatureValue []byte, hash stdcrypto.Hash) ([]byte, error)

// timestamp asks ts for a token over the base64url signature sigB64 and
// returns it base64-encoded for the header.
func (s *Signer) timestamp(ctx context.Context, ts Timestamper, sigB64 string) (string, error) {
	sig, err := base64.RawURLEncoding.DecodeString(sigB64)
	if err != nil {
		return "", fmt.Errorf("sign: decode the signature: %w", err)
	}
	token, err := ts(ctx, sig, s.alg.Hash())
	if err != nil {
		return "", fmt.Errorf("sign: timestamp the signature: %w", err)
	}
	if len(token) == 0 {
		return "", errors.New("sign: timestamp the signature: the timestamper returned no token")
	}
	return base64.StdEncoding.EncodeToString(token), nil
}

// parseTimestampSignature reads the optional timestamp token of the
// unprotected header h into env. An empty value counts as none.
func parseTimestampSignature(h map[string]json.RawMessage, env *Envelope) error {
	raw, ok := h[spec.HeaderTimestampSignature]
	if !ok {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return malformed("%s is not a string", spec.HeaderTimestampSignature)
	}
	if s == "" {
		return nil
	}
	token, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return malformed("%s is not base64", spec.HeaderTimestampSignature)
	}
	env.TimestampToken = token
	return nil
}
