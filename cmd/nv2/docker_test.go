package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
)

func TestMetadataAnswersWithoutPluginMode(t *testing.T) {
	var out bytes.Buffer
	code, ok := runDockerPlugin([]string{"/x/docker-nv2", dockerplugin.MetadataCommand}, func(string) string { return "" }, nil, &out, &out)
	if !ok || code != 0 {
		t.Fatalf("code %d ok %v", code, ok)
	}
	var m map[string]string
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["SchemaVersion"] != "0.1.0" || m["Vendor"] == "" {
		t.Fatalf("metadata %v", m)
	}
}
