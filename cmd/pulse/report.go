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
	"github.com/pulse-analytics/pulse/transforms/bigquery"
)

// runReport runs `pulse report --from=DIR --out=report.html`: it renders the
// tables of an output directory as one HTML page of charts and returns the
// exit code (2 for usage errors, 1 for failures).
func runReport(args []string) int {
	fs := flag.NewFlagSet("pulse report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "what a pulse run wrote: its output directory, or bigquery://PROJECT/DATASET")
	endpoint := fs.String("bigquery_endpoint", "", "base URL of a BigQuery emulator (default: Google Cloud)")
	out := fs.String("out", "report.html", "HTML file to write")
	pngDir := fs.String("png_dir", "", "if set, also write each chart there as <id>.png")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println("usage: pulse report --from=DIR|bigquery://PROJECT/DATASET [--bigquery_endpoint=URL] [--out=report.html] [--png_dir=DIR]")
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
	ctx := context.Background()
	var src report.Source = report.DirSource{Dir: *from}
	if bigquery.IsURL(*from) {
		out, err := bigquery.Parse(*from)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pulse report: --from: %v\n", err)
			return 2
		}
		out.Endpoint = *endpoint
		c, err := bigquery.NewClient(ctx, out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pulse report: %v\n", err)
			return 1
		}
		defer c.Close()
		src = report.BigQuerySource{Out: out, Client: c}
	} else if fi, err := os.Stat(*from); err != nil || !fi.IsDir() {
		fmt.Fprintf(os.Stderr, "pulse report: --from=%s is not a directory\n", *from)
		return 2
	}
	pg, err := report.Build(ctx, src, time.Now())
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
