// Command nv2image assembles the reproducible OCI image layouts of `make
// image` and `make registry-image` from binaries built beforehand.
//
//	nv2image -out DIR -tag TAG -bin /usr/local/bin/nv2 \
//	  -platform linux/amd64=bin/nv2-linux-amd64 -platform linux/arm64=bin/nv2-linux-arm64 \
//	  -file /etc/ssl/certs/ca-certificates.crt=/etc/ssl/certs/ca-certificates.crt \
//	  -entrypoint /usr/local/bin/nv2 -created 1700000000 [-docker-archive F -docker-tag nv2:latest]
//
// It prints the index digest on stdout. With -docker-archive it also writes
// this machine's platform image as a tar for `docker load`. It lives under
// internal/ because it is a build tool, not part of nv2.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nv2-signing/nv2/internal/imagebuild"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nv2image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("nv2image", flag.ContinueOnError)
	var platforms, files, dirs, entrypoint, cmd, env, ports, labels list
	out := fs.String("out", "", "the OCI layout folder to create")
	tag := fs.String("tag", "latest", "the tag of the index in the layout")
	bin := fs.String("bin", "", "where the binary goes in the image")
	created := fs.Int64("created", 0, "the build time, seconds since 1970 (the commit's time)")
	archive := fs.String("docker-archive", "", "also write this machine's platform image as a docker archive here")
	dockerTag := fs.String("docker-tag", "", "the tag docker load gives the archive's image")
	fs.Var(&platforms, "platform", "OS/ARCH[/VARIANT]=BINARY (repeatable)")
	fs.Var(&files, "file", "PATH_IN_IMAGE=FILE (repeatable)")
	fs.Var(&dirs, "dir", "an empty directory in the image (repeatable)")
	fs.Var(&entrypoint, "entrypoint", "one word of the entrypoint (repeatable)")
	fs.Var(&cmd, "cmd", "one word of the default arguments (repeatable)")
	fs.Var(&env, "env", "KEY=VALUE (repeatable)")
	fs.Var(&ports, "port", "an exposed port, e.g. 5000/tcp (repeatable)")
	fs.Var(&labels, "label", "KEY=VALUE (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *bin == "" || len(platforms) == 0 {
		return fmt.Errorf("-out, -bin and at least one -platform are required")
	}
	o := imagebuild.Options{Binary: *bin, Files: map[string]string{}, Dirs: dirs, Entrypoint: entrypoint,
		Cmd: cmd, Env: env, ExposedPorts: ports, Labels: map[string]string{}, Created: time.Unix(*created, 0)}
	for _, p := range platforms {
		plat, file, ok := strings.Cut(p, "=")
		parts := strings.Split(plat, "/")
		if !ok || len(parts) < 2 || len(parts) > 3 {
			return fmt.Errorf("-platform %q: want OS/ARCH[/VARIANT]=BINARY", p)
		}
		p := imagebuild.Platform{OS: parts[0], Architecture: parts[1], Binary: file}
		if len(parts) == 3 {
			p.Variant = parts[2]
		}
		o.Platforms = append(o.Platforms, p)
	}
	for _, f := range files {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("-file %q: want PATH_IN_IMAGE=FILE", f)
		}
		o.Files[k] = v
	}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		o.Labels[k] = v
	}
	desc, err := o.WriteLayout(*out, *tag)
	if err != nil {
		return err
	}
	fmt.Println(desc.Digest.String())
	if *archive == "" {
		return nil
	}
	for _, p := range o.Platforms {
		if p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH {
			return o.WriteDockerArchive(*archive, *dockerTag, p)
		}
	}
	return fmt.Errorf("no -platform for this machine (%s/%s) to write a docker archive of", runtime.GOOS, runtime.GOARCH)
}
