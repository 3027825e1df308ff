package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
)

// noProgressFlag turns off the progress a copy draws on a terminal.
func noProgressFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-progress", Usage: "draw no progress on the terminal"}
}

// copyProgress returns what draws a copy's progress (blobs and bytes) on
// stderr, and what ends the drawing. Nothing is drawn off a terminal, with
// --no-progress, or with JSON output: then progress is nil.
func copyProgress(c *cli.Context, asJSON bool) (progress func(registry.CopyEvent), done func()) {
	f, ok := c.App.ErrWriter.(*os.File)
	if asJSON || c.Bool("no-progress") || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(0,
		progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription("blobs 0/0"))
	var total int64
	var started, finished int
	describe := func() { bar.Describe(fmt.Sprintf("blobs %d/%d", finished, started)) }
	return func(e registry.CopyEvent) {
		switch e.Kind {
		case registry.CopyStarted:
			started++
			total += e.Descriptor.Size
			bar.ChangeMax64(total)
			describe()
		case registry.CopyBytes:
			bar.Add64(e.Bytes)
		case registry.CopyDone:
			finished++
			describe()
		}
	}, func() { bar.Finish() }
}

// sentText says what a copy stored, for people.
func sentText(s flows.CopyStats) string {
	return fmt.Sprintf("%d %s (%s), %d %s; %d already there",
		s.Blobs, plural(s.Blobs, "blob", "blobs"), byteSize(s.Bytes), s.Referrers, plural(s.Referrers, "referrer", "referrers"), s.Existing)
}

// sentJSON is what a copy stored, for scripts.
type sentJSON struct {
	Blobs     int   `json:"blobs"`
	Bytes     int64 `json:"bytes"`
	Referrers int   `json:"referrers"`
	Existing  int   `json:"existing"`
}

func toSentJSON(s flows.CopyStats) sentJSON {
	return sentJSON{Blobs: s.Blobs, Bytes: s.Bytes, Referrers: s.Referrers, Existing: s.Existing}
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
