// Command pulse runs Pulse's pipelines on any Beam runner.
//
//	pulse --pipeline=monitor --input=events.jsonl --output=/tmp/out
//
// The runner defaults to prism, in process; Beam's runner flags
// (--runner, --endpoint, --environment_type, --project, ...) pass through.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/pseudo"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
	"github.com/pulse-analytics/pulse/transforms/source"
)

var (
	pipeline = flag.String("pipeline", job.Monitor, "pipeline to run: monitor, learn, or all (both from one read)")
	models   = flag.String("models", "", "model specs (JSON) for the learn pipeline; empty means the shipped defaults")
	input    = flag.String("input", "", "events to read: a file path or glob of JSON lines, or pubsub://projects/P/subscriptions/S (streaming)")
	output   = flag.String("output", "", "where tables go: a directory (one folder per table) or bigquery://PROJECT/DATASET")
	window   = flag.Duration("window", time.Minute, "size of the tumbling windows of item and category metrics")
	quiet    = flag.Bool("quiet", false, "print nothing but errors")

	trendSize   = flag.Duration("trending_window", 5*time.Minute, "length of the sliding windows of trending")
	trendPeriod = flag.Duration("trending_every", time.Minute, "period of the sliding windows of trending")
	topK        = flag.Int("top_k", 10, "items per trending list")
	sessionGap  = flag.Duration("session_gap", 30*time.Minute, "inactivity that ends a user session")
	horizon     = flag.Duration("dedup_horizon", time.Hour, "event-time span within which copies of an event_id are dropped (streams)")
	replayParts = flag.Int("replay_parts", job.DefaultReplayParts, "parts a file input is processed in after de-duplication, each as stages of its own (prism runs them at once)")
	lateness    = flag.Duration("allowed_lateness", 5*time.Minute, "how long after a window's end late events still update it (streams)")
	early       = flag.Duration("early_firing", 10*time.Second, "processing time between early panes (streams); negative for none")

	pubsubEndpoint = flag.String("pubsub_endpoint", "", "host:port of a Pub/Sub emulator or fake (default: Google Cloud, or $PUBSUB_EMULATOR_HOST)")
	watermark      = flag.String("pubsub_watermark", "event", "Pub/Sub timestamps and watermark: event (the event's event_time) or publish (publish time)")
	maxSkew        = flag.Duration("pubsub_max_skew", 5*time.Second, "how far the Pub/Sub watermark trails the newest timestamp read")
	streams        = flag.Int("pubsub_streams", 4, "streaming-pull connections per worker")
	readers        = flag.Int("pubsub_readers", 1, "parallel Pub/Sub readers (spread over workers)")
	idleStop       = flag.Duration("idle_stop", 0, "end a streaming run once the subscription has been idle this long (0: never)")
	runFor         = flag.Duration("run_for", 0, "end a streaming run after this long (0: never)")
	bqEndpoint     = flag.String("bigquery_endpoint", "", "base URL of a BigQuery emulator (default: Google Cloud)")

	keyFile  = flag.String("pseudonymize_key_file", "", "file holding the key (≥16 bytes) that pseudonymises user_id (HMAC-SHA256); read on the workers, never logged")
	keyEnv   = flag.String("pseudonymize_key_env", "", "name of the environment variable holding the pseudonymisation key, instead of a file")
	keepIDs  = flag.Bool("keep_raw_user_ids", false, "store user ids as received even when a pseudonymisation key is given")
	keepText = flag.Bool("keep_text", false, "store comment text (dropped by default)")

	cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of this process (on prism: the runner and the SDK worker) to this file")
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "bq":
			os.Exit(bqMain(os.Args[2:], os.Stdout, os.Stderr))
		case "report":
			os.Exit(runReport(os.Args[2:]))
		}
	}
	flag.CommandLine.Init("pulse", flag.ContinueOnError)
	flag.CommandLine.SetOutput(io.Discard)
	if err := flag.CommandLine.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flag.CommandLine.SetOutput(os.Stdout)
			flag.Usage()
			os.Exit(0)
		}
		fail(err)
	}
	beam.Init()

	if *runners.Runner == "direct" {
		fmt.Fprintln(os.Stderr, "pulse: --runner=direct ignores state, timers and triggers; running on prism instead")
		*runners.Runner = "prism"
	}
	job.UnsplitOnPrism(*runners.Runner)
	cfg := jobConfig()
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if *models != "" {
		specs, err := learn.LoadSpecs(*models)
		if err != nil {
			fail(fmt.Errorf("--models: %w", err))
		}
		cfg.Learn.Models = specs
	}
	if !cfg.Streaming() {
		if err := source.CheckFiles(cfg.Input); err != nil {
			fail(err)
		}
	}

	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, cfg); err != nil {
		fail(err)
	}
	ctx := context.Background()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fail(err)
	}
	defer stopProfile()
	stopProgress := startProgress(os.Stderr, *progressEvery, *quiet, liveCounters(*runners.Runner, *jobopts.EnvironmentType))
	res, err := beamx.RunWithMetrics(ctx, p)
	stopProgress()
	if err != nil {
		stopProfile()
		fmt.Fprintf(os.Stderr, "pulse: run: %v\n", err)
		os.Exit(1)
	}
	if !*quiet {
		printSummary(os.Stdout, res, cfg.Output)
	}
}

// jobConfig builds the job's configuration from the flags.
func jobConfig() job.Config {
	cfg := job.Config{Pipeline: *pipeline, Input: *input, Output: *output, BigQueryEndpoint: *bqEndpoint}
	cfg.PubSub = pubsub.ReadConfig{Endpoint: *pubsubEndpoint, Watermark: *watermark, MaxSkew: *maxSkew,
		Streams: *streams, Readers: *readers, IdleStop: *idleStop}
	if *runFor > 0 {
		cfg.PubSub.StopAt = time.Now().Add(*runFor)
	}
	cfg.Monitor.Window = *window
	cfg.Monitor.Trending.Size, cfg.Monitor.Trending.Period, cfg.Monitor.Trending.K = *trendSize, *trendPeriod, *topK
	cfg.Monitor.SessionGap = *sessionGap
	cfg.Monitor.Lateness = *lateness
	cfg.Monitor.EarlyFiring = *early
	cfg.DedupHorizon = *horizon
	cfg.ReplayParts = *replayParts
	cfg.Pseudonymize = pseudo.Config{KeyFile: *keyFile, KeyEnv: *keyEnv, KeepRawUserIDs: *keepIDs, KeepText: *keepText}
	return cfg
}

// fail ends the program for a usage error: one line, exit code 2.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulse: %v\n", err)
	os.Exit(2)
}
