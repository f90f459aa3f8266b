// Package parse turns raw payloads into timestamped events, sending every
// payload it cannot use to a dead-letter output with the reason.
package parse

import (
	"context"
	"encoding/json"
	"time"
	"unsafe"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/progress"
	"github.com/pulse-analytics/pulse/transforms/source"
)

// Counter names, in the Namespace namespace. Read = Parsed + DeadLettered.
const (
	Namespace         = counter.Namespace
	CounterRead       = "events_read"
	CounterParsed     = "events_parsed"
	CounterDead       = "events_dead_lettered"
	CounterNormalized = "events_normalized"
	// CounterTooLarge counts payloads over event.MaxPayload bytes; they are
	// dead-lettered (and counted in CounterDead too) with a "payload too
	// large" reason and their first deadletter.MaxRaw bytes.
	CounterTooLarge = "events_too_large"
)

func init() {
	register.DoFn4x0[context.Context, string, func(beam.EventTime, event.Event), func(deadletter.Row)](&parseFn{})
	register.DoFn4x0[context.Context, source.Message, func(beam.EventTime, event.Event), func(deadletter.Row)](&messageFn{})
	register.Emitter2[beam.EventTime, event.Event]()
	register.Emitter1[deadletter.Row]()
}

// Lines parses one JSON event per element of lines (a PCollection<string>)
// and returns the events, timestamped with their event time, and the
// dead-letter rows of the rejected lines. source names the input in the
// dead letter.
func Lines(s beam.Scope, source string, lines beam.PCollection) (events, dead beam.PCollection) {
	s = s.Scope("ParseEvents")
	return beam.ParDo2(s, &parseFn{Source: source}, lines)
}

// Messages is Lines for queue messages (a PCollection<source.Message>): a
// rejected message keeps its attributes in the dead letter.
func Messages(s beam.Scope, source string, msgs beam.PCollection) (events, dead beam.PCollection) {
	s = s.Scope("ParseEvents")
	return beam.ParDo2(s, &messageFn{parseFn: parseFn{Source: source}}, msgs)
}

// messageFn is parseFn over messages.
type messageFn struct {
	parseFn
}

func (fn *messageFn) ProcessElement(ctx context.Context, m source.Message, emit func(beam.EventTime, event.Event), dead func(deadletter.Row)) {
	fn.read++
	if len(m.Data) > event.MaxPayload {
		fn.tooLarge++
	}
	var e event.Event
	if err := fn.dec.Decode(m.Data, &e); err != nil {
		fn.dead++
		row := deadletter.New(m.Data, reason(err), fn.Source, time.Now())
		if len(m.Attributes) > 0 {
			b, _ := json.Marshal(m.Attributes)
			row.Attributes = string(b)
		}
		dead(row)
		return
	}
	fn.parsed++
	emit(mtime.FromMilliseconds(e.EventTime), e)
}

// parseFn counts per bundle and adds to the Beam counters once per bundle:
// a counter update per element would cost more than decoding the event.
type parseFn struct {
	Source string `json:"source"`

	dec                                  event.Decoder
	read, parsed, dead, normal, tooLarge int64
}

func (fn *parseFn) ProcessElement(ctx context.Context, line string, emit func(beam.EventTime, event.Event), dead func(deadletter.Row)) {
	fn.read++
	// The decoder only reads the bytes and copies what it keeps.
	data := unsafe.Slice(unsafe.StringData(line), len(line))
	if len(data) > event.MaxPayload {
		fn.tooLarge++ // the decoder rejects it before reading a byte
	}
	var e event.Event
	if err := fn.dec.Decode(data, &e); err != nil {
		fn.dead++
		dead(deadletter.New(data, reason(err), fn.Source, time.Now()))
		return
	}
	fn.parsed++
	emit(mtime.FromMilliseconds(e.EventTime), e)
}

// FinishBundle takes the emitters only because Beam requires a FinishBundle
// with parameters to mirror ProcessElement's emitters.
func (fn *parseFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event), _ func(deadletter.Row)) {
	progress.AddRead(fn.read)
	progress.AddDead(fn.dead)
	counter.Flush(ctx, CounterRead, &fn.read)
	counter.Flush(ctx, CounterParsed, &fn.parsed)
	counter.Flush(ctx, CounterDead, &fn.dead)
	counter.Flush(ctx, CounterTooLarge, &fn.tooLarge)
	fn.normal += fn.dec.Normalized
	fn.dec.Normalized = 0
	counter.Flush(ctx, CounterNormalized, &fn.normal)
}

func reason(err error) string {
	if e, ok := err.(*event.Error); ok {
		return e.Reason
	}
	return err.Error()
}
