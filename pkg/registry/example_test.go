package registry_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// envelope stands in for a JWS envelope made by the signature package; the
// registry package stores it as opaque bytes.
var envelope = []byte(`{"payload":"e30","protected":"e30","header":{},"signature":"c2ln"}`)

// layoutWithImage writes a small image tagged v1 into a new OCI layout.
func layoutWithImage() (dir string, cleanup func()) {
	tmp, err := os.MkdirTemp("", "nv2-example-")
	if err != nil {
		log.Fatal(err)
	}
	dir = filepath.Join(tmp, "net-monitor")
	if _, err := testregistry.NewImage("example").WriteLayout(dir, "v1"); err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(tmp) }
}

// referrerOf is the registry's form of a signature artifact.
func referrerOf(a *signature.Artifact) registry.Referrer {
	blobs := []registry.Blob{{Descriptor: a.Manifest.Config, Data: signature.EmptyConfig}, {Descriptor: a.EnvelopeDescriptor, Data: a.Envelope}}
	return registry.Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: blobs}
}

// pushSignature stores envelope as a signature of subject.
func pushSignature(ctx context.Context, st registry.Storage, subject ocispec.Descriptor, envelope []byte, opts signature.ArtifactOptions) (ocispec.Descriptor, error) {
	a, err := signature.NewArtifact(subject, envelope, opts)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return a.Descriptor, st.PushReferrer(ctx, subject, referrerOf(a))
}

func ExampleParseReference() {
	for _, s := range []string{
		"alpine:3.20",
		"localhost:5000/net-monitor:v1",
		"ghcr.io/org/app@sha256:4b39f6f98b826d97c15aac7b67d0a394fd3cd6b45b6ab25acfce1367763b4391",
		"Net-Monitor:v1",
	} {
		ref, err := registry.ParseReference(s, "")
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("registry=%s repository=%s reference=%s\n", ref.Registry, ref.Repository, ref.Reference())
	}
	// Output:
	// registry=docker.io repository=library/alpine reference=3.20
	// registry=localhost:5000 repository=net-monitor reference=v1
	// registry=ghcr.io repository=org/app reference=sha256:4b39f6f98b826d97c15aac7b67d0a394fd3cd6b45b6ab25acfce1367763b4391
	// error: invalid reference "Net-Monitor:v1": invalid repository "library/Net-Monitor" (a repository is lowercase letters, digits and separators '.', '_', '__', '-', '/')
}

func ExampleParseLayoutReference() {
	ref, err := registry.ParseLayoutReference("./out/net-monitor:v1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ref.Layout, ref.Tag, ref.IsLayout())
	// Output: ./out/net-monitor v1 true
}

// Sign an image that exists only in an OCI layout, then find and read the
// signature back, as `nv2 sign --oci-layout` and `nv2 verify` do: the
// signature package builds the signature manifest, the layout stores it as
// a referrer, and the trust package reads it back.
func ExampleLayout_PushReferrer() {
	dir, cleanup := layoutWithImage()
	defer cleanup()
	ctx := context.Background()

	target, err := registry.OpenLayout(dir)
	if err != nil {
		log.Fatal(err)
	}
	subject, err := target.Resolve(ctx, "v1")
	if err != nil {
		log.Fatal(err)
	}
	sig, err := signature.NewArtifact(subject, envelope, signature.ArtifactOptions{
		Thumbprints: []string{"aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"},
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := target.PushReferrer(ctx, subject, referrerOf(sig)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", sig.Descriptor.ArtifactType)

	refs, err := target.Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signatures:", len(refs), "thumbprints hint:", refs[0].Annotations[spec.AnnotationThumbprints])

	got, err := trust.FetchSignature(ctx, target, refs[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("envelope:", string(got.Envelope) == string(envelope), "subject:", got.Manifest.Subject.Digest == subject.Digest)
	// Output:
	// pushed application/vnd.cncf.notary.signature
	// signatures: 1 thumbprints hint: ["aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"]
	// envelope: true subject: true
}

// A signature of a signature (a countersignature) appears one level down.
func ExampleLayout_ReferrersTree() {
	dir, cleanup := layoutWithImage()
	defer cleanup()
	ctx := context.Background()
	target, err := registry.OpenLayout(dir)
	if err != nil {
		log.Fatal(err)
	}
	subject, _ := target.Resolve(ctx, "v1")
	sig, err := pushSignature(ctx, target, subject, envelope, signature.ArtifactOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pushSignature(ctx, target, sig, []byte(`{"countersignature":true}`), signature.ArtifactOptions{}); err != nil {
		log.Fatal(err)
	}
	tree, err := target.ReferrersTree(ctx, subject, spec.ArtifactTypeSignature, 0)
	if err != nil {
		log.Fatal(err)
	}
	var show func(n *registry.Node, indent string)
	show = func(n *registry.Node, indent string) {
		kind := "image"
		if n.ArtifactType != "" {
			kind = n.ArtifactType
		}
		fmt.Println(indent + kind)
		for _, c := range n.Referrers {
			show(c, indent+"  ")
		}
	}
	show(tree, "")
	// Output:
	// image
	//   application/vnd.cncf.notary.signature
	//     application/vnd.cncf.notary.signature
}

// Copy an image with its signatures between layouts (or registries, in any
// direction): "build, sign offline, then push".
func ExampleCopy() {
	dir, cleanup := layoutWithImage()
	defer cleanup()
	ctx := context.Background()
	src, err := registry.OpenLayout(dir)
	if err != nil {
		log.Fatal(err)
	}
	subject, _ := src.Resolve(ctx, "v1")
	sig, err := pushSignature(ctx, src, subject, envelope, signature.ArtifactOptions{})
	if err != nil {
		log.Fatal(err)
	}

	dst, err := registry.OpenLayout(filepath.Join(filepath.Dir(dir), "copy"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := registry.Copy(ctx, src, "v1", dst, "v1"); err != nil {
		log.Fatal(err)
	}
	refs, err := dst.Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("copied signatures:", len(refs), "same digest:", refs[0].Digest == sig.Digest)
	// Output: copied signatures: 1 same digest: true
}

// The usual setup of a command: one Client for the process, then a Remote
// per repository. (Not run: it needs a registry.)
func ExampleClient_Repository() {
	client, err := registry.NewClient(registry.Options{UserAgent: "nv2/0.1.0"})
	if err != nil {
		log.Fatal(err)
	}
	ref, err := registry.ParseReference("localhost:5000/net-monitor:v1", "")
	if err != nil {
		log.Fatal(err)
	}
	target, err := client.Repository(ref)
	if err != nil {
		log.Fatal(err)
	}
	subject, err := target.Resolve(context.Background(), ref.Reference())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ref.WithDigest(subject.Digest))
}
