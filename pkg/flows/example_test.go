package flows_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// world is what the examples share: a folder with an image in an OCI
// layout (tag v1), a signer, a verifier that trusts it, and a registry
// with the referrers API on loopback.
type world struct {
	dir      string
	layout   string
	signer   *signature.Signer
	verifier *trust.Verifier
	host     string
	client   *flows.Client
	close    func()
}

func newWorld() *world {
	dir, err := os.MkdirTemp("", "nv2-flows-example-")
	if err != nil {
		log.Fatal(err)
	}
	w := &world{dir: dir, layout: filepath.Join(dir, "net-monitor")}
	if _, err := testregistry.NewImage("example").WriteLayout(w.layout, "v1"); err != nil {
		log.Fatal(err)
	}
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "wabbit-networks.io", CA: true})
	if err != nil {
		log.Fatal(err)
	}
	if w.signer, err = signature.NewSigner(creds.Key, creds.Chain); err != nil {
		log.Fatal(err)
	}
	w.verifier = trust.NewCertVerifier([]*x509.Certificate{creds.Chain[len(creds.Chain)-1]})
	srv := httptest.NewServer(testregistry.NewGGCR())
	w.host = strings.TrimPrefix(srv.URL, "http://")
	rc, err := registry.NewClient(registry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	w.client = &flows.Client{Registry: rc}
	w.close = func() { srv.Close(); os.RemoveAll(dir) }
	return w
}

// push copies the example image to the registry as net-monitor:v1.
func (w *world) push(ctx context.Context) string {
	ref := w.host + "/net-monitor:v1"
	if _, err := w.client.Copy(ctx, flows.Location{Ref: w.layout + ":v1", Layout: true}, flows.Location{Ref: ref}); err != nil {
		log.Fatal(err)
	}
	return ref
}

// pushSigned pushes the example image and signs it in the registry.
func (w *world) pushSigned(ctx context.Context) string {
	ref := w.push(ctx)
	if _, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: flows.Location{Ref: ref}}); err != nil {
		log.Fatal(err)
	}
	return ref
}

// Sign an image in a registry: the tag is resolved once, the digest is
// signed, and the signature is pushed as its referrer.
func ExampleClient_Sign() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	ref := w.push(ctx)

	res, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: flows.Location{Ref: ref}, SigningAgent: "example/1.0"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resolved tag:", res.ResolvedTag)
	fmt.Println("signed by digest:", strings.Contains(res.Reference, "@sha256:"))
	fmt.Println("signature pushed:", res.Signature != nil, res.Algorithm)
	// Output:
	// resolved tag: v1
	// signed by digest: true
	// signature pushed: true ES256
}

// Sign offline, in an OCI image layout, and verify there: no network.
func ExampleClient_Sign_ociLayout() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	offline := &flows.Client{} // no registry client at all
	image := flows.Location{Ref: w.layout + ":v1", Layout: true}

	if _, err := offline.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: image}); err != nil {
		log.Fatal(err)
	}
	r := offline.Verify(ctx, w.verifier, image)[0]
	fmt.Println(r.Status, r.Err == nil)
	// Output: verified true
}

// Verify several artifacts at once; each result carries its own verdict,
// and errors.Is tells the kinds of failure apart.
func ExampleClient_Verify() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	ref := w.pushSigned(ctx)
	testregistry.NewImage("unsigned").PushTo(ctx, w.host, "unsigned", "v1")

	for _, r := range w.client.Verify(ctx, w.verifier, flows.Location{Ref: ref}, flows.Location{Ref: w.host + "/unsigned:v1"}) {
		switch {
		case r.Err == nil:
			fmt.Println("verified:", r.Signature.Envelope.Chain[0].Subject.CommonName)
		case errors.Is(r.Err, flows.ErrNoSignature):
			fmt.Println("no signature:", strings.TrimPrefix(r.Reference, w.host+"/"))
		default:
			fmt.Println("failed:", r.Err)
		}
	}
	// Output:
	// verified: wabbit-networks.io
	// no signature: unsigned:v1
}

// Pull copies exactly the digest that verified into an OCI layout.
func ExampleClient_Pull() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	ref := w.pushSigned(ctx)
	dst := filepath.Join(w.dir, "verified")
	res, err := w.client.Pull(ctx, flows.PullOptions{Artifact: flows.Location{Ref: ref}, Verifier: w.verifier, Layout: dst})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pulled:", strings.TrimPrefix(res.Destination, w.dir+string(filepath.Separator)) == "verified@"+res.Subject.Digest.String(), "tag", res.Tag)
	// Output: pulled: true tag v1
}

// Sign a manifest file with no network, then attach the detached envelope
// once the image is in the registry.
func ExampleClient_Attach() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	img := testregistry.NewImage("example")
	manifest := filepath.Join(w.dir, "manifest.json")
	if err := os.WriteFile(manifest, img.Manifest, 0o644); err != nil {
		log.Fatal(err)
	}
	subject, err := flows.ManifestFile(manifest, "")
	if err != nil {
		log.Fatal(err)
	}
	sig := filepath.Join(w.dir, "manifest.jws")
	if _, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Manifest: &subject, SignatureOut: sig}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("detached:", flows.VerifyDetached(w.verifier, sig, manifest, "").Status)

	ref := w.push(ctx)
	res, err := w.client.Attach(ctx, flows.Location{Ref: ref}, sig)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("attached to the signed digest:", res.Subject.Digest == subject.Digest)
	// Output:
	// detached: verified
	// attached to the signed digest: true
}

// Copy carries an artifact's signatures along; Discover shows them.
func ExampleClient_Discover() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	image := flows.Location{Ref: w.layout + ":v1", Layout: true}
	if _, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: image}); err != nil {
		log.Fatal(err)
	}
	ref := w.push(ctx) // a copy from the layout, signature included

	tree, err := w.client.Discover(ctx, flows.DiscoverOptions{Artifact: flows.Location{Ref: ref}})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range tree.Tree.Referrers {
		fmt.Println(n.ArtifactType)
	}
	// Output: application/vnd.cncf.notary.signature
}

// Inspect decodes each signature without deciding trust.
func ExampleClient_Inspect() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	image := flows.Location{Ref: w.layout + ":v1", Layout: true}
	_, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: image, Annotations: map[string]string{"org.example.build": "42"}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := w.client.Inspect(ctx, image)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Signatures {
		fmt.Println(s.Envelope.Algorithm, s.Envelope.Payload.TargetArtifact.Annotations["org.example.build"], s.Descriptor.ArtifactType == spec.ArtifactTypeSignature)
	}
	// Output: ES256 42 true
}

// Copy an image with its signatures from an OCI layout to a registry; a
// destination without a tag keeps the source's.
func ExampleClient_Copy() {
	w := newWorld()
	defer w.close()
	ctx := context.Background()
	image := flows.Location{Ref: w.layout + ":v1", Layout: true}
	if _, err := w.client.Sign(ctx, flows.SignOptions{Signer: w.signer, Artifact: image}); err != nil {
		log.Fatal(err)
	}
	res, err := w.client.Copy(ctx, image, flows.Location{Ref: w.host + "/mirror/net-monitor"})
	if err != nil {
		log.Fatal(err)
	}
	r := w.client.Verify(ctx, w.verifier, flows.Location{Ref: w.host + "/mirror/net-monitor:v1"})[0]
	fmt.Println(strings.TrimPrefix(res.Destination, w.host+"/") == "mirror/net-monitor@"+res.Descriptor.Digest.String(), r.Status)
	// Output: true verified
}

// Verify a detached envelope against a manifest file, with no network.
func ExampleVerifyDetached() {
	w := newWorld()
	defer w.close()
	manifest := filepath.Join(w.dir, "manifest.json")
	if err := os.WriteFile(manifest, testregistry.NewImage("example").Manifest, 0o644); err != nil {
		log.Fatal(err)
	}
	subject, err := flows.ManifestFile(manifest, "")
	if err != nil {
		log.Fatal(err)
	}
	sig := filepath.Join(w.dir, "manifest.jws")
	if _, err := (&flows.Client{}).Sign(context.Background(), flows.SignOptions{Signer: w.signer, Manifest: &subject, SignatureOut: sig}); err != nil {
		log.Fatal(err)
	}
	r := flows.VerifyDetached(w.verifier, sig, manifest, "")
	fmt.Println(r.Status, r.Verified == manifest+"@"+subject.Digest.String())
	// Output: verified true
}
