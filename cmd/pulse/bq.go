package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
)

// bqMain runs `pulse bq init`: it creates the dataset, the tables and the
// views of a BigQuery output, and returns the exit code.
func bqMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "pulse bq: want `pulse bq init --output=bigquery://PROJECT/DATASET [--bigquery_endpoint=URL]`")
		return 2
	}
	fs := flag.NewFlagSet("pulse bq init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	output := fs.String("output", "", "dataset to create: bigquery://PROJECT/DATASET")
	endpoint := fs.String("bigquery_endpoint", "", "base URL of a BigQuery emulator (default: Google Cloud)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "pulse bq init: %v\n", err)
		return 2
	}
	out, err := bigquery.Parse(*output)
	if err != nil {
		fmt.Fprintf(stderr, "pulse bq init: --output: %v\n", err)
		return 2
	}
	out.Endpoint = *endpoint
	// The client retries server errors until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := bigquery.NewClient(ctx, out)
	if err != nil {
		fmt.Fprintf(stderr, "pulse bq init: %v\n", err)
		return 1
	}
	defer c.Close()
	tables, views := job.Tables(), job.Views()
	if err := bigquery.Init(ctx, c, out, tables, views); err != nil {
		fmt.Fprintf(stderr, "pulse bq init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d tables, %d views\n", out, len(tables), len(views))
	return 0
}
