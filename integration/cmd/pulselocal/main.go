// Command pulselocal runs Pulse's main job end to end on this machine with
// no cloud account: it starts the local stack (the Pub/Sub fake and the
// BigQuery emulator, in this process, on loopback), publishes generated
// events with pulsegen, runs `pulse --pipeline=all` streaming from the
// subscription into the emulator on prism until the subscription is idle,
// and prints the answers of the first queries of docs/queries.md.
//
//	pulselocal --bin=bin --events=5000
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/pulse-analytics/pulse/integration/stack"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

const project = "pulse-local"

var (
	bin      = flag.String("bin", "bin", "directory holding the pulse and pulsegen binaries")
	events   = flag.Int("events", 5000, "events to publish")
	seed     = flag.Int("seed", 42, "pulsegen seed")
	queries  = flag.String("queries", "docs/queries.md", "markdown file whose first -show queries are run at the end")
	show     = flag.Int("show", 3, "queries to print")
	runFor   = flag.Duration("run_for", 10*time.Minute, "upper bound on the streaming run")
	idleStop = flag.Duration("idle_stop", 5*time.Second, "end the run once the subscription is idle this long")
	htmlOut  = flag.String("report", "out/report.html", "where `pulse report` writes its page at the end (empty: no report)")
)

func main() {
	flag.Parse()
	if err := run(os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "pulselocal: %v\n", err)
		os.Exit(1)
	}
}

func run(stdout, stderr io.Writer) error {
	st, err := stack.Start(project)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "local stack: Pub/Sub fake at %s, BigQuery emulator at %s\n", st.PubSubAddr, st.BigQueryURL)

	ctx := context.Background()
	topic := pubsub.Name{Project: project, Kind: "topics", ID: "events"}
	sub := pubsub.Name{Project: project, Kind: "subscriptions", ID: "events-pulse"}
	ps, err := pubsub.NewClient(ctx, project, st.PubSubAddr)
	if err != nil {
		return err
	}
	if err := pubsub.EnsureTopic(ctx, ps, topic); err != nil {
		return err
	}
	if err := pubsub.EnsureSubscription(ctx, ps, sub, topic); err != nil {
		return err
	}
	ps.Close()
	output := "bigquery://" + project + "/pulse"
	// Shipped configurations pseudonymise user ids: a fresh key per run.
	key, err := os.CreateTemp("", "pulse-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(key.Name())
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	if _, err := key.Write(secret); err != nil {
		return err
	}
	key.Close()

	steps := [][]string{
		{"pulse", "bq", "init", "--output=" + output, "--bigquery_endpoint=" + st.BigQueryURL},
		{"pulsegen", fmt.Sprintf("--events=%d", *events), fmt.Sprintf("--seed=%d", *seed), "--users=2000", "--items=500",
			"--rate=200", "--duplicates=0.02", "--malformed=0.01", "--output=" + topic.URL(), "--pubsub_endpoint=" + st.PubSubAddr},
		{"pulse", "--pipeline=all", "--input=" + sub.URL(), "--output=" + output,
			"--pubsub_endpoint=" + st.PubSubAddr, "--bigquery_endpoint=" + st.BigQueryURL, "--pubsub_streams=64",
			"--idle_stop=" + idleStop.String(), "--run_for=" + runFor.String(), "--pseudonymize_key_file=" + key.Name()},
	}
	for _, args := range steps {
		fmt.Fprintf(stdout, "$ %s\n", strings.Join(args, " "))
		cmd := exec.Command(filepath.Join(*bin, args[0]), args[1:]...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		began := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		fmt.Fprintf(stdout, "  (%s)\n", time.Since(began).Round(100*time.Millisecond))
	}

	qs, err := stack.Queries(*queries, project+".pulse")
	if err != nil {
		return err
	}
	client, err := bigquery.NewClient(ctx, bigquery.Output{Project: project, Dataset: "pulse", Endpoint: st.BigQueryURL})
	if err != nil {
		return err
	}
	defer client.Close()
	for i, q := range qs {
		if i == *show {
			break
		}
		if err := print(ctx, stdout, client, q); err != nil {
			return err
		}
	}
	if *htmlOut == "" {
		return nil
	}
	fmt.Fprintln(stdout)
	if err := os.MkdirAll(filepath.Dir(*htmlOut), 0o755); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(*bin, "pulse"), "report", "--from="+output, "--bigquery_endpoint="+st.BigQueryURL, "--out="+*htmlOut)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pulse report: %w", err)
	}
	return nil
}

// print runs q and prints its answer as a table.
func print(ctx context.Context, w io.Writer, c *bq.Client, q stack.Query) error {
	it, err := c.Query(q.SQL).Read(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", q.Title, err)
	}
	fmt.Fprintf(w, "\n%s\n", q.Title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := false
	for {
		var row []bq.Value
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", q.Title, err)
		}
		if !header {
			for _, f := range it.Schema {
				fmt.Fprintf(tw, "%s\t", f.Name)
			}
			fmt.Fprintln(tw)
			header = true
		}
		for _, v := range row {
			fmt.Fprintf(tw, "%v\t", v)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
