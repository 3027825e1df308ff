package nv2_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The layers of docs/architecture.md: data flows one way, cmd (and the
// docker plugin) -> flows -> trust -> (registry, signature) -> crypto, with
// spec beside them all; registry and signature sit side by side (neither
// imports the other), and trust reads signatures through its own Source
// interface, not registry's types. This test fails when a
// package imports an nv2 package it must not, the way go-containerregistry's
// depcheck test guards crane's layers.
const module = "github.com/nv2-signing/nv2"

var allowed = map[string][]string{
	"pkg/spec":      {},
	"pkg/crypto":    {"pkg/spec"},
	"pkg/signature": {"pkg/crypto", "pkg/spec"},
	"pkg/registry":  {"pkg/registry/internal/distribution", "pkg/spec"},
	// RFC 3161 tokens: request and verify; signature takes a Timestamper
	// function, not the package.
	"pkg/timestamp": {},
	// OCSP and CRL checks: certificates in, statuses out.
	"pkg/revocation": {},
	"pkg/trust":      {"pkg/signature", "pkg/timestamp", "pkg/revocation", "pkg/crypto", "pkg/spec"},
	// The raw distribution-protocol calls and the fallback index protocol.
	"pkg/registry/internal/distribution": {"pkg/spec"},
	"pkg/flows":                          {"pkg/trust", "pkg/revocation", "pkg/registry", "pkg/signature", "pkg/timestamp", "pkg/crypto", "pkg/spec"},
	// docker save archives as OCI images: a parser of untrusted input.
	"internal/dockerarchive": {},
	// The docker plugin's protocol, settings and engine, over the flows.
	"internal/dockerplugin": {"internal/dockerarchive", "pkg/flows", "pkg/trust", "pkg/registry", "pkg/crypto", "pkg/spec"},
	// The reproducible OCI image layouts of make image and make registry-image.
	"internal/imagebuild": {},
	// The CLI: flags, rendering and advice, over the flows and the plugin.
	"cmd/nv2": {"pkg/flows", "internal/dockerplugin", "pkg/trust", "pkg/revocation", "pkg/timestamp", "pkg/registry", "pkg/signature", "pkg/crypto", "pkg/spec"},
}

func TestLayers(t *testing.T) {
	for dir, ok := range allowed {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		allow := map[string]bool{}
		for _, a := range ok {
			allow[module+"/"+a] = true
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, module+"/") && !allow[imp] {
				t.Errorf("%s imports %s: it may import only %v (see DESIGN.md, Architecture)", dir, strings.TrimPrefix(imp, module+"/"), ok)
			}
		}
	}
}

// TestLibrariesNeverPrintOrExit: packages below cmd return errors; only the
// CLI decides what reaches the terminal and how the process ends.
func TestLibrariesNeverPrintOrExit(t *testing.T) {
	forbidden := map[string]bool{
		"fmt.Print": true, "fmt.Printf": true, "fmt.Println": true,
		"os.Exit": true, "log.Print": true, "log.Printf": true, "log.Println": true,
		"log.Fatal": true, "log.Fatalf": true, "log.Fatalln": true, "log.Panic": true, "log.Panicf": true,
	}
	files, _ := filepath.Glob("pkg/*/*.go")
	internal, _ := filepath.Glob("pkg/*/internal/*/*.go")
	plugin, _ := filepath.Glob("internal/docker*/*.go")
	files = append(append(files, internal...), plugin...)
	sort.Strings(files)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && forbidden[id.Name+"."+sel.Sel.Name] {
						t.Errorf("%s: %s.%s: library packages return errors, they do not print or exit", fset.Position(x.Pos()), id.Name, sel.Sel.Name)
					}
				}
				if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") {
					t.Errorf("%s: %s: library packages do not print", fset.Position(x.Pos()), id.Name)
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "os" && (x.Sel.Name == "Stdout" || x.Sel.Name == "Stderr") {
					t.Errorf("%s: os.%s: library packages do not write to the terminal", fset.Position(x.Pos()), x.Sel.Name)
				}
			}
			return true
		})
	}
}
