package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/imagebuild"
	"github.com/nv2-signing/nv2/internal/testregistry"
)

// TestImageSignaturesVerifyEverywhere: an image index built the way `make
// image` builds nv2's, signed recursively in its layout, verifies offline
// with nv2 and, copied with its signatures to either registry, verifies
// with notation-go at every level (the index and each platform).
func TestImageSignaturesVerifyEverywhere(t *testing.T) {
	o := imagebuild.Options{
		Platforms: []imagebuild.Platform{
			{OS: "linux", Architecture: "amd64", Binary: nv2Bin},
			{OS: "linux", Architecture: "arm64", Binary: nv2Bin},
		},
		Binary: "/usr/local/bin/nv2", Entrypoint: []string{"/usr/local/bin/nv2"}, Created: time.Unix(1700000000, 0),
	}
	layout := filepath.Join(t.TempDir(), "nv2")
	index, err := o.WriteLayout(layout, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := o.Index()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	levels := []string{index.Digest.String(), im.Manifests[0].Digest.String(), im.Manifests[1].Digest.String()}

	c := newCLI(t)
	key, cert := c.keys("nv2-image-builder")
	s := c.must(0, "sign", "--recursive", "--oci-layout", "--key", key, "--cert", cert, layout+":0.1.0")
	for _, d := range levels {
		if !strings.Contains(s.stdout, "Signed "+layout+"@"+d) {
			t.Fatalf("sign --recursive did not sign %s:\n%s", d, s.stdout)
		}
	}
	v := c.must(0, "verify", "--oci-layout", "--cert", cert, "--platform", "linux/arm64", "--require-platform-signature", layout+":0.1.0")
	if !strings.Contains(v.stdout, "Verified "+layout+"@"+levels[2]) {
		t.Fatalf("verify --oci-layout --platform linux/arm64:\n%s", v.stdout)
	}
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			c.must(0, "copy", "--from-oci-layout", layout+":0.1.0", reg.Host+"/nv2:0.1.0")
			for _, d := range levels {
				if err := notationVerify(t, reg.Host+"/nv2@"+d, cert); err != nil {
					t.Errorf("notation-go does not verify %s: %v", d, err)
				}
			}
		})
	}
}

// TestImagesRunInDocker builds both images with scripts/image.sh for this
// machine's platform, loads them into the engine, runs `nv2 --version` in
// nv2's image, starts the registry image with scripts/registry.sh
// (NV2_REGISTRY_RUNNER=docker), and verifies nv2's image in it from nv2's
// own container. It needs a docker engine (see dockerEngine).
func TestImagesRunInDocker(t *testing.T) {
	dockerHost := dockerEngine(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	tmp := t.TempDir()
	name := "nv2-test-" + strings.ToLower(filepath.Base(tmp))
	env := append(os.Environ(), "NV2="+nv2Bin, "NV2_CACHE="+filepath.Join(tmp, "cache"), "NV2_IMAGE_OUT="+filepath.Join(tmp, "images"),
		"NV2_IMAGE_PLATFORMS=linux/"+runtime.GOARCH, "DOCKER_HOST="+dockerHost)
	run := func(env []string, prog string, args ...string) string {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env, cmd.Dir = env, root
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s%s", prog, strings.Join(args, " "), err, out, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() {
		rmi := exec.Command("docker", "rmi", "-f", name+":latest", name+":0.1.0", name+"-registry:latest", name+"-registry:v3.1.2")
		rmi.Env = env
		rmi.Run()
	})
	digest := run(append(env, "NV2_IMAGE_NAME="+name), "scripts/image.sh", "nv2")
	if v := run(env, "docker", "run", "--rm", "--network", "none", name, "--version"); !strings.Contains(v, "0.1.0") {
		t.Fatalf("nv2 --version in the image: %q", v)
	}
	run(append(env, "NV2_IMAGE_NAME="+name+"-registry"), "scripts/image.sh", "registry")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	renv := append(env, "NV2_REGISTRY_RUNNER=docker", "NV2_REGISTRY_IMAGE="+name+"-registry:latest",
		"NV2_REGISTRY_STATE="+filepath.Join(tmp, "registry"), "NV2_REGISTRY_PORT="+strings.Split(host, ":")[1])
	run(renv, "scripts/registry.sh", "start")
	t.Cleanup(func() {
		stop := exec.Command(filepath.Join(root, "scripts", "registry.sh"), "stop")
		stop.Env = renv
		stop.Run()
	})
	resp, err := http.Get("http://" + host + "/v2/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the registry image does not answer /v2/: %v %v", resp, err)
	}
	resp.Body.Close()

	c := newCLI(t)
	c.must(0, "copy", "--from-oci-layout", filepath.Join(tmp, "images", "nv2")+":0.1.0", host+"/nv2:0.1.0")
	keys := filepath.Join(tmp, "cache", "image-signing")
	v := run(env, "docker", "run", "--rm", "--network", "host", "-v", keys+":/keys:ro", name,
		"verify", "--cert", "/keys/nv2-image-builder.crt", host+"/nv2@"+digest)
	if !strings.Contains(v, "Verified "+host+"/nv2@"+digest) {
		t.Fatalf("nv2 verify from nv2's image:\n%s", v)
	}
}
