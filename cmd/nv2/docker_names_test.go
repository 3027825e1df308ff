package main

import (
	"strings"
	"testing"
)

// TestDockerNamesOneWay: under docker nv2, verify names an image as pull
// does, by docker's rules (a name without a host is on Docker Hub), even
// with NV2_REGISTRY set; plain nv2 keeps NV2_REGISTRY.
func TestDockerNamesOneWay(t *testing.T) {
	tr := newTrap(t)
	u := newDockerUser(t)
	u.env = append(u.env, tr.env()...) // NV2_REGISTRY is the trap; any other host goes through it too
	u.standIn()
	_, cert := u.keys("signer")
	u.must(0, "nv2", "config", "enable")
	u.must(0, "nv2", "config", "set", "--verify-cert", cert)
	const hub = "docker.io/library/net-monitor"
	for _, args := range [][]string{
		{"nv2", "verify", "--timeout", "1s", "net-monitor:v1"},
		{"nv2", "pull", "--timeout", "1s", "net-monitor:v1"},
	} {
		if r := u.must(exitError, args...); !strings.Contains(r.stderr, hub) {
			t.Errorf("docker %s should name %s:\n%s", strings.Join(args, " "), hub, r.stderr)
		}
	}
	c := &cliUser{t: t, env: u.env, dir: u.dir}
	if r := c.must(exitError, "verify", "--timeout", "1s", "--cert", cert, "net-monitor:v1"); !strings.Contains(r.stderr, tr.addr+"/net-monitor") {
		t.Errorf("nv2 verify should use NV2_REGISTRY:\n%s", r.stderr)
	}
}
