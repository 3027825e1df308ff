package flows

import (
	"fmt"
	"io"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Roles of the files flows read and write, as FileError reports them.
const (
	RoleManifest     = "manifest"
	RoleSignature    = "signature"
	RoleSignatureOut = "signature output"
	RoleCertificate  = "certificate"
	// RoleTSACertificate: a TSA root certificate a verification trusts.
	RoleTSACertificate = "TSA certificate"
	// RoleTSARoot: the TSA root certificate a signer checks its tokens with.
	RoleTSARoot = "TSA root certificate"
)

// ManifestFile describes the manifest in path for signing or verifying
// offline: digest and size of the file, media type from its mediaType
// field or else mediaType. An undecidable media type wraps
// registry.ErrMediaType.
func ManifestFile(path, mediaType string) (ocispec.Descriptor, error) {
	raw, err := readFileLimit(RoleManifest, path, spec.MaxManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := registry.ManifestDescriptor(raw, mediaType)
	if err != nil {
		return ocispec.Descriptor{}, &FileError{Role: RoleManifest, Path: path, Err: fmt.Errorf("%s: %w", path, err)}
	}
	return desc, nil
}

// readFileLimit reads the file at path, refusing one over limit bytes.
func readFileLimit(role, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Role: role, Path: path, Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &FileError{Role: role, Path: path, Err: fmt.Errorf("read %s: %w", path, err)}
	}
	if int64(len(b)) > limit {
		return nil, &FileError{Role: role, Path: path, Err: fmt.Errorf("%s is over the limit of %d bytes", path, limit)}
	}
	return b, nil
}
