package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pulse-analytics/pulse/cmd/pulse/internal/report"
)

// runReport runs `pulse report --from=DIR --out=report.html`: it renders the
// tables of an output directory as one HTML page of charts and returns the
// exit code (2 for usage errors, 1 for failures).
func runReport(args []string) int {
	fs := flag.NewFlagSet("pulse report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "output directory of a pulse run (one folder per table)")
	out := fs.String("out", "report.html", "HTML file to write")
	pngDir := fs.String("png_dir", "", "if set, also write each chart there as <id>.png")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println("usage: pulse report --from=DIR [--out=report.html] [--png_dir=DIR]")
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
		return 2
	}
	if *from == "" {
		fmt.Fprintln(os.Stderr, "pulse report: --from is required")
		return 2
	}
	if fi, err := os.Stat(*from); err != nil || !fi.IsDir() {
		fmt.Fprintf(os.Stderr, "pulse report: --from=%s is not a directory\n", *from)
		return 2
	}
	pg, err := report.Build(context.Background(), report.DirSource{Dir: *from}, time.Now())
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
		return 1
	}
	var b bytes.Buffer
	if err := pg.Write(&b); err != nil {
		fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
		return 1
	}
	if *pngDir != "" {
		if err := os.MkdirAll(*pngDir, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
			return 1
		}
		for _, c := range pg.Charts {
			if c.PNG == nil {
				continue
			}
			if err := os.WriteFile(filepath.Join(*pngDir, c.ID+".png"), c.PNG, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
				return 1
			}
		}
	}
	fmt.Printf("wrote %s\n", *out)
	return 0
}
