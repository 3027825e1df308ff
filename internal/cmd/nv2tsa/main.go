// Command nv2tsa runs a Time Stamping Authority on a loopback port for the
// demo: the test TSA of internal/testtsa (sigstore's server code), as a process.
//
// It writes the TSA's RFC 3161 URL to -url-file and its root certificate
// (PEM) to -root, then serves until it is sent SIGINT or SIGTERM. It listens
// on 127.0.0.1 only and contacts nothing else.
package main

import (
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nv2-signing/nv2/internal/testtsa"
)

func main() {
	urlFile := flag.String("url-file", "", "write the TSA's RFC 3161 URL to `FILE` once it answers")
	rootFile := flag.String("root", "", "write the TSA's root certificate (PEM) to `FILE`")
	flag.Parse()
	if *urlFile == "" || *rootFile == "" {
		fmt.Fprintln(os.Stderr, "usage: nv2tsa -url-file FILE -root FILE")
		os.Exit(2)
	}
	tsa, err := testtsa.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nv2tsa:", err)
		os.Exit(1)
	}
	defer tsa.Close()
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tsa.Root().Raw})
	if err := os.WriteFile(*rootFile, root, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "nv2tsa:", err)
		os.Exit(1)
	}
	// The URL file is written last: its presence says the TSA is ready.
	if err := os.WriteFile(*urlFile, []byte(tsa.URL+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "nv2tsa:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "nv2tsa: RFC 3161 TSA at %s (pid %d)\n", tsa.URL, os.Getpid())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
