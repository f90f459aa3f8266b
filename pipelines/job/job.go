// Package job assembles a whole Pulse job: read the input, parse and clean
// the events, run the chosen pipelines and write every table to the output.
package job

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/late"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/parts"
	"github.com/pulse-analytics/pulse/transforms/pseudo"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
	"github.com/pulse-analytics/pulse/transforms/source"
)

// Pipelines a job can run.
const (
	Monitor = "monitor"
	Learn   = "learn"
	// All runs monitor and learn from one read of the input.
	All = "all"
)

// DefaultReplayParts is how many parts a bounded input is processed in
// after de-duplication: prism runs each part's stages at once, so two keep
// both cores of a small machine busy (docs/benchmarks.md).
const DefaultReplayParts = 2

// Config is a whole job's configuration.
type Config struct {
	// Pipeline is the pipeline to run: monitor, learn or all.
	Pipeline string
	// Input is a file path or glob of JSON-lines events, or a
	// subscription: pubsub://projects/P/subscriptions/S. A subscription
	// makes the job a streaming one.
	Input string
	// PubSub configures reading a subscription; its Subscription is set
	// from Input.
	PubSub pubsub.ReadConfig
	// Output is the directory that receives one folder per table, or a
	// dataset: bigquery://PROJECT/DATASET.
	Output string
	// BigQueryEndpoint is the base URL of a BigQuery emulator; empty for
	// Google Cloud.
	BigQueryEndpoint string
	// DedupHorizon is how long, in event time, an event_id is remembered
	// to drop its copies (default 1h).
	DedupHorizon time.Duration
	// ReplayParts is how many parts a bounded input is split into after
	// de-duplication, each processed as stages of its own (see package
	// parts); zero means DefaultReplayParts. A stream is one part.
	ReplayParts int
	// Monitor configures the monitor pipeline.
	Monitor monitor.Config
	// Learn configures the learn pipeline; no models means the shipped
	// default models.
	Learn learn.Config
	// Pseudonymize replaces user ids by keyed pseudonyms and drops comment
	// text right after parsing, before anything is stored (transforms/pseudo).
	Pseudonymize pseudo.Config
}

// Validate reports the first invalid setting, naming the flag.
func (c Config) Validate() error {
	switch c.Pipeline {
	case Monitor, Learn, All:
	default:
		return fmt.Errorf("--pipeline=%q: want %s, %s or %s", c.Pipeline, Monitor, Learn, All)
	}
	if c.Input == "" {
		return fmt.Errorf("--input is required")
	}
	if c.Output == "" {
		return fmt.Errorf("--output is required")
	}
	if pubsub.IsURL(c.Input) {
		if _, err := c.readConfig(); err != nil {
			return err
		}
	} else if strings.Contains(c.Input, "://") && !strings.HasPrefix(c.Input, "gs://") {
		return fmt.Errorf("--input=%q: want a file, a glob, gs://... or pubsub://projects/P/subscriptions/S", c.Input)
	}
	if bigquery.IsURL(c.Output) {
		if _, err := bigquery.Parse(c.Output); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
	} else if strings.Contains(c.Output, "://") {
		return fmt.Errorf("--output=%q: want a local directory or bigquery://PROJECT/DATASET", c.Output)
	}
	if c.ReplayParts < 0 {
		return fmt.Errorf("--replay_parts=%d: want 0 (the default) or more", c.ReplayParts)
	}
	if err := c.Pseudonymize.Validate(); err != nil {
		return err
	}
	return c.Monitor.Validate()
}

// Streaming reports whether the job reads an unbounded stream.
func (c Config) Streaming() bool { return pubsub.IsURL(c.Input) }

// readConfig is PubSub reading the subscription named by Input.
func (c Config) readConfig() (pubsub.ReadConfig, error) {
	rc := c.PubSub
	sub, err := pubsub.Parse(c.Input, "subscriptions")
	if err != nil {
		return rc, fmt.Errorf("--input: %w", err)
	}
	rc.Subscription = sub
	return rc, rc.Validate()
}

// read returns the input's parsed, cleaned and pseudonymised events and
// its dead-letter rows, in n parts (a stream in one).
func read(s beam.Scope, cfg Config, n int) (events, dead []beam.PCollection) {
	prepare := func(s beam.Scope, ev, d beam.PCollection) {
		ev = clean.Events(s, ev)
		events = append(events, pseudo.Events(s, cfg.Pseudonymize, ev))
		dead = append(dead, pseudo.DeadLetters(s, cfg.Pseudonymize, d))
	}
	if cfg.Streaming() {
		rc, _ := cfg.readConfig() // Build validated it
		msgs := pubsub.Read(s, rc)
		ev, d := parse.Messages(s, cfg.Input, msgs)
		prepare(s, ev, d)
		return events, dead
	}
	lines := source.LinesParts(s, cfg.Input, n)
	for i, l := range lines {
		ps := s
		if len(lines) > 1 {
			ps = s.Scope(fmt.Sprintf("Input%d", i))
		}
		ev, d := parse.Lines(ps, cfg.Input, l)
		prepare(ps, ev, d)
	}
	return events, dead
}

// writer returns the sink of every table of the job.
func writer(cfg Config) func(s beam.Scope, name string, rows beam.PCollection) {
	if bigquery.IsURL(cfg.Output) {
		out, _ := bigquery.Parse(cfg.Output)
		out.Endpoint = cfg.BigQueryEndpoint
		return func(s beam.Scope, name string, rows beam.PCollection) {
			bigquery.Write(s, out, table(name), rows)
		}
	}
	return func(s beam.Scope, name string, rows beam.PCollection) {
		jsonl.Write(s, cfg.Output, name, rows)
	}
}

// Build adds the job to the pipeline of scope s.
func Build(s beam.Scope, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Streaming() {
		cfg.Monitor.Streaming = true
	}
	write := writer(cfg)
	n := 1 // a stream is one part
	if !cfg.Monitor.Streaming {
		n = cmp.Or(cfg.ReplayParts, DefaultReplayParts)
	}
	// A file is read, parsed and cleaned in n parts, then de-duplicated
	// into n parts (package parts explains why).
	inputs, deadRows := read(s, cfg, n)
	// Bounded input de-duplicates with a GroupByKey; state, needed for an
	// unbounded stream, costs a runner round trip per event.
	var parts []beam.PCollection
	if cfg.Monitor.Streaming {
		m := cfg.Monitor.WithDefaults()
		events := dedup.Events(s, cfg.DedupHorizon, beam.Flatten(s, inputs...))
		events, tooLate := late.Guard(s, m.Window, m.Lateness, late.Shards, events)
		parts = []beam.PCollection{events}
		deadRows = append(deadRows, tooLate)
	} else {
		parts = dedup.ReplayParts(s, dedupBucket(cfg.Monitor.WithDefaults()), n, inputs...)
	}
	write(s, deadletter.Table, beam.Flatten(s.Scope("DeadLetter"), deadRows...))

	if cfg.Pipeline == Learn || cfg.Pipeline == All {
		if err := buildLearn(s, cfg, write, parts); err != nil {
			return err
		}
	}
	if cfg.Pipeline == Learn {
		return nil
	}
	t, err := monitor.Build(s, cfg.Monitor, parts...)
	if err != nil {
		return err
	}
	write(s, monitor.TableItemMetrics, t.ItemMetrics)
	write(s, monitor.TableCategoryMetrics, t.CategoryMetrics)
	write(s, monitor.TableTrending, t.Trending)
	write(s, monitor.TableUserSessions, t.UserSessions)
	write(s, monitor.TableAlerts, t.Alerts)
	return nil
}

func buildLearn(s beam.Scope, cfg Config, write func(beam.Scope, string, beam.PCollection), events []beam.PCollection) error {
	lc := cfg.Learn
	if cfg.Monitor.Streaming && lc.Lateness == 0 {
		lc.Lateness = cfg.Monitor.WithDefaults().Lateness
	}
	if len(lc.Models) == 0 {
		lc.Models = learn.DefaultModels()
	}
	lc.Bounded = !cfg.Monitor.Streaming
	t, err := learn.Build(s, lc, events...)
	if err != nil {
		return err
	}
	parts.Each(s, t.Predictions, func(s beam.Scope, rows beam.PCollection) { write(s, learn.TablePredictions, rows) })
	write(s, learn.TableModelMetrics, t.ModelMetrics)
	write(s, learn.TableModelSnapshots, t.ModelSnapshots)
	// Model alerts share the alerts table's rows; with the monitor they
	// land in the same folder, as the same table would in BigQuery.
	// Its own scope, so its name differs from the monitor's alerts writer
	// without an order-dependent suffix (stable names for Dataflow --update).
	write(s.Scope("LearnAlerts"), monitor.TableAlerts, t.Alerts)
	return nil
}

// dedupBucket is the largest span that divides every window of the monitor,
// as dedup.Replay needs.
func dedupBucket(m monitor.Config) time.Duration {
	a, b := m.Window, m.Trending.WithDefaults().Period
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
