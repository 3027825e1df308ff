package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"oras.land/oras-go/v2/content/oci"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// writeLayout stores img in a new OCI image layout at dir, tagged v1.
func writeLayout(t *testing.T, dir string, img *testregistry.Image) {
	t.Helper()
	ctx := context.Background()
	s, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range img.BlobDescriptors() {
		if err := s.Push(ctx, d, bytes.NewReader(img.Blobs[d.Digest])); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Push(ctx, img.Descriptor, bytes.NewReader(img.Manifest)); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, img.Descriptor, "v1"); err != nil {
		t.Fatal(err)
	}
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// verifyResults reads verify's JSON, {"results": [...]}, as its list.
type verifyResults []verifyResult

func (v *verifyResults) UnmarshalJSON(b []byte) error {
	var r verifyReport
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*v = r.Results
	return nil
}
