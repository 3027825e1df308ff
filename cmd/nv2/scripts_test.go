package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistryScriptRefusesABusyPort: scripts/registry.sh start on a port
// another program listens on fails and says so, printing no address, so
// the demo never writes into a registry it did not start.
func TestRegistryScriptRefusesABusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "registry.sh"), "start")
	cmd.Env = append(os.Environ(), fmt.Sprintf("NV2_REGISTRY_PORT=%d", port),
		"NV2_REGISTRY_STATE="+t.TempDir(), "NV2_CACHE="+t.TempDir())
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err == nil {
		t.Fatalf("registry.sh start succeeded on a busy port:\n%s%s", out.String(), errb.String())
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "already in use") {
		t.Errorf("registry.sh start on a busy port: stdout %q, stderr %q", out.String(), errb.String())
	}
}
