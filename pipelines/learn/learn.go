// Package learn is the learn pipeline: it trains the models declared in a
// spec file (see transforms/spec and default_models.json) online from the
// event stream and writes their progressive predictions, metrics,
// snapshots and drift alerts.
//
// Immediate-label models (watch_seconds, amount, label) learn from each
// event as it comes; engagement models learn from views once
// transforms/outcome has labelled them (engaged within the outcome window,
// or not). Training is transforms/learn: batched by a GroupByKey per
// (model, key value), then a stateful DoFn per key, Flink-safe.
package learn

import (
	_ "embed"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	tlearn "github.com/pulse-analytics/pulse/transforms/learn"
	"github.com/pulse-analytics/pulse/transforms/outcome"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// Prediction stages (the predictions table's stage column).
const (
	StageProgressive = tlearn.StageProgressive
	StageServing     = tlearn.StageServing
)

// ScopeModel is the alerts.Row scope of a model drift alert.
const ScopeModel = tlearn.ScopeModel

// Table names, as folders of the file sink and tables in BigQuery.
const (
	TablePredictions    = "predictions"
	TableModelMetrics   = "model_metrics"
	TableModelSnapshots = "model_snapshots"
)

// Row types of the tables.
type (
	// Prediction is a predictions row.
	Prediction = tlearn.Prediction
	// ModelMetrics is a model_metrics row.
	ModelMetrics = tlearn.Metrics
	// ModelSnapshot is a model_snapshots row.
	ModelSnapshot = tlearn.Snapshot
)

//go:embed default_models.json
var defaultModels []byte

// DefaultModels returns the models of the shipped default_models.json.
func DefaultModels() []spec.Model {
	ms, err := spec.Parse(defaultModels)
	if err != nil {
		panic(fmt.Sprintf("learn: default_models.json: %v", err)) // tested
	}
	return ms
}

// LoadSpecs reads and validates a spec file; an empty path means the
// default models.
func LoadSpecs(path string) ([]spec.Model, error) {
	if path == "" {
		return DefaultModels(), nil
	}
	return spec.Load(path)
}

// Config configures Build.
type Config struct {
	// Models are the models to train (LoadSpecs); required.
	Models []spec.Model
	// Batch is the event-time window examples are trained in; zero means
	// one minute.
	Batch time.Duration
	// OutcomeWindow is how long a view waits for an engagement; zero
	// means 30 minutes.
	OutcomeWindow time.Duration
	// Lateness is how far behind the watermark an event may arrive and
	// still be labelled and learned from. A stream sets it to the late
	// guard's allowed lateness (pipelines/job does): without it an event
	// the guard let through but behind the watermark would be dropped,
	// uncounted, by the batching; a replay has no late data.
	Lateness time.Duration
	// Bounded says events end (a file replay): trainers may then wait for
	// the end and fire once (see transforms/learn Config.Bounded). A
	// stream leaves it false.
	Bounded bool
}

// Tables are the pipeline's outputs. Alerts holds alerts.Row values with
// Scope "model" (Page-Hinkley drift of a model's loss).
type Tables struct {
	Predictions    []beam.PCollection // of Prediction, in parts (package parts)
	ModelMetrics   beam.PCollection   // of ModelMetrics
	ModelSnapshots beam.PCollection   // of ModelSnapshot
	Alerts         beam.PCollection   // of alerts.Row
}

// Build adds the learn pipeline on events, a PCollection<event.Event> in
// the global window timestamped by event time (parse.Lines' output, after
// clean and dedup if wanted), or several that are its parts (see package
// parts).
func Build(s beam.Scope, cfg Config, events ...beam.PCollection) (Tables, error) {
	if len(cfg.Models) == 0 {
		return Tables{}, fmt.Errorf("learn: no models configured")
	}
	ms := make([]spec.Model, len(cfg.Models))
	copy(ms, cfg.Models)
	delayed := false
	for i := range ms {
		if err := ms[i].Validate(); err != nil {
			return Tables{}, fmt.Errorf("learn: models[%d]: %w", i, err)
		}
		delayed = delayed || ms[i].Delayed()
	}
	if err := tlearn.CheckBatch(ms, cfg.Batch); err != nil {
		return Tables{}, fmt.Errorf("learn: %w", err)
	}
	s = s.Scope("Learn")
	var labelled []beam.PCollection
	if delayed {
		labelled = outcome.Label(s, cfg.OutcomeWindow, cfg.Lateness, events...)
	}
	tc := tlearn.Config{Models: ms, Batch: cfg.Batch, Lateness: cfg.Lateness, Bounded: cfg.Bounded, Parts: len(events)}
	var out tlearn.Outputs
	if cfg.Bounded {
		out = tlearn.Train(s, tc, tlearn.RouteParts(s, ms, cfg.Batch, events, labelled)...)
	} else { // a stream keeps its transform names
		out = tlearn.Train(s, tc, tlearn.Route(s, ms, cfg.Batch, events, labelled))
	}
	return Tables{Predictions: out.Predictions, ModelMetrics: out.Metrics, ModelSnapshots: out.Snapshots, Alerts: out.Alerts}, nil
}
