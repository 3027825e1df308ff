// Command nv2bench is the benchmark's helper (scripts/bench.sh): it serves a
// real registry or a proxy in front of one, counting and optionally delaying
// every request, and it fills a repository with signatures and images.
//
//	nv2bench serve -kind ggcr [-addr 127.0.0.1:0]      go-containerregistry's registry, referrers API
//	nv2bench serve -upstream http://127.0.0.1:5000     a proxy in front of another registry
//	nv2bench junk -n 1000 HOST/REPO:TAG                 N signatures of REF by untrusted signers
//	nv2bench images -n 100 HOST/REPO                    N small images, tagged v0 ... v(N-1)
//
// serve prints its host:port on stdout and runs until it is interrupted.
// Beside the registry API it answers GET /_bench/count (the requests served
// since the last reset), POST /_bench/reset and POST /_bench/delay?d=20ms
// (added before every answer). It lives under internal/ because it is a
// test tool, not part of nv2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "junk":
		err = junk(os.Args[2:])
	case "images":
		err = images(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nv2bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: nv2bench serve [-kind ggcr | -upstream URL] [-addr HOST:PORT] [-delay D]\n       nv2bench junk -n N HOST/REPO:TAG\n       nv2bench images -n N HOST/REPO")
	os.Exit(2)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	kind := fs.String("kind", "", "ggcr: serve go-containerregistry's registry with the referrers API")
	upstream := fs.String("upstream", "", "proxy to the registry at this `URL` instead")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	delay := fs.Duration("delay", 0, "delay added before every answer")
	_ = fs.Parse(args)
	var h http.Handler
	switch {
	case *kind == "ggcr" && *upstream == "":
		h = testregistry.NewGGCR()
	case *kind == "" && *upstream != "":
		u, err := url.Parse(*upstream)
		if err != nil {
			return err
		}
		p := httputil.NewSingleHostReverseProxy(u)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		p.Transport = tr
		h = p
	default:
		return errors.New("serve: give -kind ggcr or -upstream URL")
	}
	counter := testregistry.NewCounter(h)
	counter.SetDelay(*delay)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_bench/count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d\n", counter.Count())
	})
	mux.HandleFunc("POST /_bench/reset", func(w http.ResponseWriter, _ *http.Request) { counter.Reset() })
	mux.HandleFunc("POST /_bench/delay", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		counter.SetDelay(d)
	})
	mux.Handle("/", counter)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(l.Addr().String()); !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("serve: %s is not a loopback address", host)
	}
	fmt.Println(l.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// junk pushes n signatures of a reference from three untrusted signers,
// each a real, valid Notary Project signature with its thumbprint hint.
func junk(args []string) error {
	fs := flag.NewFlagSet("junk", flag.ExitOnError)
	n := fs.Int("n", 1000, "how many signatures")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	ctx := context.Background()
	ref, err := registry.ParseReference(fs.Arg(0), os.Getenv("NV2_REGISTRY"))
	if err != nil {
		return err
	}
	t, err := newClientTarget(ref)
	if err != nil {
		return err
	}
	subject, err := t.Resolve(ctx, ref.Reference())
	if err != nil {
		return err
	}
	var envs []testregistry.Envelope
	for i := range 3 {
		creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: fmt.Sprintf("untrusted-%d", i)})
		if err != nil {
			return err
		}
		s, err := signature.NewSigner(creds.Key, creds.Chain)
		if err != nil {
			return err
		}
		for j := range 4 {
			env, err := s.Sign(signature.SignRequest{Target: subject, SigningTime: time.Now().Add(-time.Duration(j+1) * time.Second)})
			if err != nil {
				return err
			}
			envs = append(envs, testregistry.Envelope{Data: env, Thumbprints: nvcrypto.Thumbprints(creds.Chain)})
		}
	}
	_, err = testregistry.PushSignatures(ctx, ref.Registry, ref.Repository, subject, envs, *n)
	return err
}

// images pushes n small images to a repository, tagged v0 ... v(n-1).
func images(args []string) error {
	fs := flag.NewFlagSet("images", flag.ExitOnError)
	n := fs.Int("n", 100, "how many images")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	ref, err := registry.ParseReference(fs.Arg(0), os.Getenv("NV2_REGISTRY"))
	if err != nil {
		return err
	}
	for i := range *n {
		if err := testregistry.NewImage(fmt.Sprint("bench-", i)).PushTo(context.Background(), ref.Registry, ref.Repository, fmt.Sprint("v", i)); err != nil {
			return err
		}
	}
	return nil
}

func newClientTarget(ref registry.Reference) (*registry.Remote, error) {
	c, err := registry.NewClient(registry.Options{PlainHTTP: strings.HasPrefix(ref.Registry, "127.")})
	if err != nil {
		return nil, err
	}
	return c.Repository(ref)
}
