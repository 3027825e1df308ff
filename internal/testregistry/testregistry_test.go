package testregistry

import (
	"context"
	"testing"

	"oras.land/oras-go/v2/registry/remote"
)

func TestPushAndResolveOnBothKinds(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := Start(t, kind)
			want := PushImage(t, reg, "net-monitor", "v1", "a")
			repo, err := remote.NewRepository(reg.Host + "/net-monitor")
			if err != nil {
				t.Fatal(err)
			}
			repo.PlainHTTP = true
			reg.Reset()
			got, err := repo.Resolve(context.Background(), "v1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want.Digest {
				t.Fatalf("resolved %s, pushed %s", got.Digest, want.Digest)
			}
			if reg.Count() != 1 {
				t.Fatalf("resolve took %d requests: %v", reg.Count(), reg.Requests())
			}
		})
	}
}

func TestBasicAuthIsRequired(t *testing.T) {
	reg := Start(t, Distribution, Options{Username: "alice", Password: "s3cret"})
	repo, _ := remote.NewRepository(reg.Host + "/x")
	repo.PlainHTTP = true
	if _, err := repo.Resolve(context.Background(), "v1"); err == nil {
		t.Fatal("resolve without credentials succeeded on a registry that requires auth")
	}
}
