// Package job assembles a whole Pulse job: read the input, parse and clean
// the events, run the chosen pipelines and write every table to the output.
package job

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/late"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/source"
)

// Pipelines a job can run.
const (
	Monitor = "monitor"
	Learn   = "learn"
	// All runs monitor and learn from one read of the input.
	All = "all"
)

// Config is a whole job's configuration.
type Config struct {
	// Pipeline is the pipeline to run: monitor, learn or all.
	Pipeline string
	// Input is a file path or glob of JSON-lines events.
	Input string
	// Output is the directory that receives one folder per table.
	Output string
	// DedupHorizon is how long, in event time, an event_id is remembered
	// to drop its copies (default 1h).
	DedupHorizon time.Duration
	// Monitor configures the monitor pipeline.
	Monitor monitor.Config
	// Learn configures the learn pipeline; no models means the shipped
	// default models.
	Learn learn.Config
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
	if strings.Contains(c.Output, "://") {
		return fmt.Errorf("--output=%q: only a local directory is supported", c.Output)
	}
	return c.Monitor.Validate()
}

// Build adds the job to the pipeline of scope s.
func Build(s beam.Scope, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lines := source.Lines(s, cfg.Input)
	events, dead := parse.Lines(s, cfg.Input, lines)
	events = clean.Events(s, events)
	// Bounded input de-duplicates with a GroupByKey; state, needed for an
	// unbounded stream, costs a runner round trip per event.
	if cfg.Monitor.Streaming {
		events = dedup.Events(s, cfg.DedupHorizon, events)
	} else {
		m := cfg.Monitor.WithDefaults()
		events = dedup.Replay(s, dedupBucket(m), events)
	}
	deadRows := []beam.PCollection{dead}
	if cfg.Monitor.Streaming {
		var tooLate beam.PCollection
		m := cfg.Monitor.WithDefaults()
		events, tooLate = late.Guard(s, m.Window, m.Lateness, late.Shards, events)
		deadRows = append(deadRows, tooLate)
	}
	jsonl.Write(s, cfg.Output, deadletter.Table, beam.Flatten(s, deadRows...))

	if cfg.Pipeline == Learn || cfg.Pipeline == All {
		if err := buildLearn(s, cfg, events); err != nil {
			return err
		}
	}
	if cfg.Pipeline == Learn {
		return nil
	}
	t, err := monitor.Build(s, cfg.Monitor, events)
	if err != nil {
		return err
	}
	jsonl.Write(s, cfg.Output, monitor.TableItemMetrics, t.ItemMetrics)
	jsonl.Write(s, cfg.Output, monitor.TableCategoryMetrics, t.CategoryMetrics)
	jsonl.Write(s, cfg.Output, monitor.TableTrending, t.Trending)
	jsonl.Write(s, cfg.Output, monitor.TableUserSessions, t.UserSessions)
	jsonl.Write(s, cfg.Output, monitor.TableAlerts, t.Alerts)
	return nil
}

func buildLearn(s beam.Scope, cfg Config, events beam.PCollection) error {
	lc := cfg.Learn
	if len(lc.Models) == 0 {
		lc.Models = learn.DefaultModels()
	}
	t, err := learn.Build(s, lc, events)
	if err != nil {
		return err
	}
	jsonl.Write(s, cfg.Output, learn.TablePredictions, t.Predictions)
	jsonl.Write(s, cfg.Output, learn.TableModelMetrics, t.ModelMetrics)
	jsonl.Write(s, cfg.Output, learn.TableModelSnapshots, t.ModelSnapshots)
	// Model alerts share the alerts table's rows; with the monitor they
	// land in the same folder, as the same table would in BigQuery.
	jsonl.Write(s, cfg.Output, monitor.TableAlerts, t.Alerts)
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
