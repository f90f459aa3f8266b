// Package job assembles a whole Pulse job: read the input, parse and clean
// the events, run the chosen pipelines and write every table to the output.
package job

import (
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/source"
)

// Pipelines a job can run.
const (
	Monitor = "monitor"
)

// Config is a whole job's configuration.
type Config struct {
	// Pipeline is the pipeline to run: "monitor".
	Pipeline string
	// Input is a file path or glob of JSON-lines events.
	Input string
	// Output is the directory that receives one folder per table.
	Output string
	// Monitor configures the monitor pipeline.
	Monitor monitor.Config
}

// Validate reports the first invalid setting, naming the flag.
func (c Config) Validate() error {
	switch c.Pipeline {
	case Monitor:
	default:
		return fmt.Errorf("--pipeline=%q: want %s", c.Pipeline, Monitor)
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
	jsonl.Write(s, cfg.Output, deadletter.Table, dead)

	t, err := monitor.Build(s, cfg.Monitor, events)
	if err != nil {
		return err
	}
	jsonl.Write(s, cfg.Output, monitor.TableItemMetrics, t.ItemMetrics)
	jsonl.Write(s, cfg.Output, monitor.TableCategoryMetrics, t.CategoryMetrics)
	jsonl.Write(s, cfg.Output, monitor.TableTrending, t.Trending)
	return nil
}
