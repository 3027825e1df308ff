package flows_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/flows"
)

// Sign a multi-platform image with Recursive (the index and every manifest
// it lists), then verify the manifest of one platform: the verdict says
// whose signature vouched for it and names the digest to pull.
func ExampleClient_Sign_recursive() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	dir := filepath.Join(w.dir, "multi")
	x := testregistry.NewIndex("example", "linux/amd64", "linux/arm64/v8")
	if _, err := x.WriteLayout(dir, "v1"); err != nil {
		log.Fatal(err)
	}
	image := flows.Location{Ref: dir + ":v1", Layout: true}

	res, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: image, Recursive: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Children {
		fmt.Println("signed", flows.FormatPlatform(c.Platform))
	}
	if image.Platform, err = flows.ParsePlatform("linux/arm64"); err != nil {
		log.Fatal(err)
	}
	image.RequirePlatformSignature = true
	r := w.client.Verify(ctx, w.verifier, image)[0]
	fmt.Println(r.Status, "by the", r.Platform.SignedBy, r.Platform.Platform)
	fmt.Println("pull:", r.VerifiedDigest() == x.Images[1].Descriptor.Digest)
	// Output:
	// signed linux/amd64
	// signed linux/arm64/v8
	// verified by the manifest linux/arm64/v8
	// pull: true
}
