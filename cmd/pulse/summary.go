package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/late"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

// printSummary says what the run read and wrote: the counters that must
// reconcile, then the rows per table found in the output directory.
func printSummary(w io.Writer, res beam.PipelineResult, out string) {
	if res != nil {
		c := counters(res)
		dup, late := c[dedup.CounterDuplicates], c[late.CounterTooLate]
		fmt.Fprintf(w, "read %d events: %d used, %d dead-lettered, %d de-duplicated",
			c[parse.CounterRead], c[parse.CounterParsed]-dup-late, c[parse.CounterDead], dup)
		if late > 0 {
			fmt.Fprintf(w, ", %d too late", late)
		}
		fmt.Fprintln(w)
	}
	if bigquery.IsURL(out) {
		c := map[string]int64{}
		if res != nil {
			c = counters(res)
		}
		fmt.Fprintf(w, "wrote %d rows to %s (%d rejected to dead_letter, %d retried inserts)\n",
			c[bigquery.CounterRowsWritten], out, c[bigquery.CounterRowsRejected], c[bigquery.CounterRetries])
		return
	}
	tables, _ := filepath.Glob(filepath.Join(out, "*"))
	sort.Strings(tables)
	for _, t := range tables {
		files, _ := filepath.Glob(filepath.Join(t, "*.jsonl"))
		rows := 0
		for _, f := range files {
			rows += countLines(f)
		}
		fmt.Fprintf(w, "  %-18s %8d rows in %d files\n", filepath.Base(t), rows, len(files))
	}
	fmt.Fprintf(w, "wrote %s\n", out)
}

func counters(res beam.PipelineResult) map[string]int64 {
	m := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == parse.Namespace {
			m[c.Key.Name] += c.Committed
		}
	}
	return m
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	r := bufio.NewReaderSize(f, 1<<16)
	buf := make([]byte, 1<<16)
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil {
			return n
		}
	}
}
