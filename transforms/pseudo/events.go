package pseudo

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// Counter names, in the "pulse" namespace.
const (
	// CounterPseudonymized counts events whose user_id was replaced.
	CounterPseudonymized = "events_pseudonymized"
	// CounterTextDropped counts events whose comment text was dropped.
	CounterTextDropped = "events_text_dropped"
	// CounterDeadRedacted counts dead-letter payloads in which a user_id
	// or text value was rewritten.
	CounterDeadRedacted = "dead_letters_redacted"
)

func init() {
	register.DoFn3x1[context.Context, event.Event, func(event.Event), error](&eventsFn{})
	register.DoFn3x1[context.Context, deadletter.Row, func(deadletter.Row), error](&deadFn{})
	register.Emitter1[event.Event]()
	register.Emitter1[deadletter.Row]()
}

// Events replaces the user_id of every event (a PCollection<event.Event>)
// by its pseudonym when cfg is Enabled and does not KeepRawUserIDs, and
// drops comment text unless cfg.KeepText. Timestamps and windows are kept.
// When there is nothing to do it returns events unchanged. The graph holds
// only cfg's key file path or variable name, never the key.
func Events(s beam.Scope, cfg Config, events beam.PCollection) beam.PCollection {
	fn := newFn(cfg)
	if !fn.Pseudonymize && cfg.KeepText {
		return events
	}
	return beam.ParDo(s.Scope("Pseudonymize"), &eventsFn{fnConfig: fn}, events)
}

// DeadLetters rewrites the raw payloads of rejected inputs (a
// PCollection<deadletter.Row>) as Redact describes, with the same rules as
// Events: a rejected payload is as private as an accepted one.
func DeadLetters(s beam.Scope, cfg Config, rows beam.PCollection) beam.PCollection {
	fn := newFn(cfg)
	if !fn.Pseudonymize && cfg.KeepText {
		return rows
	}
	return beam.ParDo(s.Scope("PseudonymizeDeadLetters"), &deadFn{fnConfig: fn}, rows)
}

// fnConfig is what the DoFns carry in the graph: where the key is, not
// the key.
type fnConfig struct {
	KeyFile      string `json:"key_file,omitempty"`
	KeyEnv       string `json:"key_env,omitempty"`
	Pseudonymize bool   `json:"pseudonymize"`
	KeepText     bool   `json:"keep_text"`
}

func newFn(cfg Config) fnConfig {
	return fnConfig{
		KeyFile:      cfg.KeyFile,
		KeyEnv:       cfg.KeyEnv,
		Pseudonymize: cfg.Enabled() && !cfg.KeepRawUserIDs,
		KeepText:     cfg.KeepText,
	}
}

// setup reads the key on the worker and returns a Pseudonymizer, or nil
// when user ids are kept. The key's bytes are zeroed once the HMAC holds
// them.
func (c fnConfig) setup() (*Pseudonymizer, error) {
	if !c.Pseudonymize {
		return nil, nil
	}
	key, err := Config{KeyFile: c.KeyFile, KeyEnv: c.KeyEnv}.LoadKey()
	if err != nil {
		return nil, fmt.Errorf("pseudo: setup: %w", err)
	}
	defer clear(key)
	return New(key)
}

type eventsFn struct {
	fnConfig

	p                      *Pseudonymizer
	pseudonymized, dropped int64
}

func (fn *eventsFn) Setup() error {
	var err error
	fn.p, err = fn.setup()
	return err
}

func (fn *eventsFn) ProcessElement(ctx context.Context, e event.Event, emit func(event.Event)) error {
	if fn.p != nil {
		e.UserID = fn.p.UserID(e.UserID)
		fn.pseudonymized++
	}
	if !fn.KeepText && e.Text != "" {
		e.Text = ""
		fn.dropped++
	}
	emit(e)
	return nil
}

func (fn *eventsFn) FinishBundle(ctx context.Context, _ func(event.Event)) {
	counter.Flush(ctx, CounterPseudonymized, &fn.pseudonymized)
	counter.Flush(ctx, CounterTextDropped, &fn.dropped)
}

type deadFn struct {
	fnConfig

	p        *Pseudonymizer
	redacted int64
}

func (fn *deadFn) Setup() error {
	var err error
	fn.p, err = fn.setup()
	return err
}

func (fn *deadFn) ProcessElement(ctx context.Context, r deadletter.Row, emit func(deadletter.Row)) error {
	raw, changed := Redact([]byte(r.Raw), fn.p, !fn.KeepText)
	if changed {
		r.Raw = string(raw)
		fn.redacted++
	}
	emit(r)
	return nil
}

func (fn *deadFn) FinishBundle(ctx context.Context, _ func(deadletter.Row)) {
	counter.Flush(ctx, CounterDeadRedacted, &fn.redacted)
}
