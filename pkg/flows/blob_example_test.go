package flows_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/nv2-signing/nv2/pkg/flows"
)

// Sign a file with a detached signature in the Notary Project's blob format,
// written beside it as FILE.jws.sig, and verify it; then the same signature
// against a changed file.
func ExampleBlobSign() {
	w := newWorld()
	defer w.close()
	file := filepath.Join(w.dir, "release.tar.gz")
	if err := os.WriteFile(file, []byte("release 1.0"), 0o644); err != nil {
		log.Fatal(err)
	}
	signed, err := flows.BlobSign(context.Background(), flows.BlobSignOptions{Signer: w.signer, Path: file, Annotations: map[string]string{"build": "42"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(signed.SignatureFile), signed.Blob.MediaType, signed.Blob.Size)

	r := flows.BlobVerify(flows.BlobVerifyOptions{Verifier: w.verifier, Path: file, SignatureFile: signed.SignatureFile})
	fmt.Println(r.Status, r.Verified == file+"@"+signed.Blob.Digest.String())

	if err := os.WriteFile(file, []byte("release 1.0 with a backdoor"), 0o644); err != nil {
		log.Fatal(err)
	}
	r = flows.BlobVerify(flows.BlobVerifyOptions{Verifier: w.verifier, Path: file, SignatureFile: signed.SignatureFile})
	fmt.Println(r.Status, errors.Is(r.Err, flows.ErrNotVerified))
	// Output:
	// release.tar.gz.jws.sig application/octet-stream 11
	// verified true
	// not-verified true
}
