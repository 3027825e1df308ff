package signature

import (
	stdcrypto "crypto"
	"fmt"

	"github.com/opencontainers/go-digest"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// MediaTypeBlob is the media type a blob signature's payload names when the
// signer gives none, as notation names it.
const MediaTypeBlob = "application/octet-stream"

// BlobDigestAlgorithm is the digest algorithm of a blob signed with alg:
// the Notary Project's blob signatures hash the blob with the hash of the
// signing key's algorithm (SHA-256 for P-256 and RSA-2048, SHA-384 for
// P-384 and RSA-3072, SHA-512 for P-521 and RSA-4096).
func BlobDigestAlgorithm(alg nvcrypto.Algorithm) (digest.Algorithm, error) {
	switch alg.Hash() {
	case stdcrypto.SHA256:
		return digest.SHA256, nil
	case stdcrypto.SHA384:
		return digest.SHA384, nil
	case stdcrypto.SHA512:
		return digest.SHA512, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
}
