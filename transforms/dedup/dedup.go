// Package dedup drops repeated deliveries of the same event, so that counts
// over at-least-once sources such as Pub/Sub are exact.
//
// Events are keyed by event_id. The first copy of an id is passed on; every
// later copy is dropped and counted (counter events_deduplicated), so that
// events_read = used + dead-lettered + de-duplicated reconciles. The
// first-seen mark of an id lives in per-key state and is cleared by an
// event-time timer at the first copy's event time plus the horizon. Exactly:
//
//   - A copy is dropped if an earlier copy of its id was processed and the
//     input watermark has not yet passed that earlier copy's event time plus
//     the horizon (the timer has not fired).
//   - A copy processed after the watermark passed first-seen + horizon is not
//     caught: it is passed on as a new first copy and starts a new horizon.
//     So is every copy of an event that arrives more than the horizon behind
//     the watermark, since its timer is already due when it is set.
//   - Copies with different content are not compared: whichever copy the
//     runner processes first is kept, with its content, and the others are
//     dropped. For redeliveries that is the earlier delivery; for copies
//     that arrive together the choice is arbitrary.
//   - Ids are compared byte for byte; parse normalises them and rejects
//     empty ones, since all events with an empty id would share one key.
//
// State per id is one boolean and one timer, so it grows with the number of
// distinct ids seen within a horizon. The transform uses only bag state
// and event-time timers, which every portable runner (prism, Flink,
// Dataflow) supports.
package dedup

import (
	"context"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// DefaultHorizon is the horizon Events uses when given none: long enough to
// cover Pub/Sub redelivery after an ack deadline or a worker restart.
const DefaultHorizon = time.Hour

// CounterDuplicates counts the copies Events dropped, in the "pulse"
// namespace.
const CounterDuplicates = "events_deduplicated"

func init() {
	register.Function1x2(keyByID)
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, event.Event, func(beam.EventTime, event.Event), error](&dedupFn{})
	register.Emitter2[beam.EventTime, event.Event]()
}

// Events returns events, a PCollection<event.Event> in the global window
// timestamped by event time, with repeated copies of an event_id dropped
// within horizon of the first copy's event time, as the package doc
// describes. A horizon under a millisecond means DefaultHorizon. Kept
// events keep their timestamp.
func Events(s beam.Scope, horizon time.Duration, events beam.PCollection) beam.PCollection {
	s = s.Scope("Dedup")
	ms := horizon.Milliseconds()
	if ms <= 0 {
		ms = DefaultHorizon.Milliseconds()
	}
	keyed := beam.ParDo(s, keyByID, events)
	return beam.ParDo(s, newDedupFn(ms), keyed)
}

func keyByID(e event.Event) (string, event.Event) { return e.EventID, e }

// dedupFn passes on the first copy of each key. Seen is non-empty once the
// key is seen; Expiry clears it when the watermark passes the first copy's
// event time plus the horizon.
//
// Seen is a bag rather than a value because each state operation is a
// round trip to the runner and Value.Write is two (clear, then append)
// where Bag.Add is one: a new id costs a read, an append and, when its
// timer fires, a clear; a duplicate costs a read.
type dedupFn struct {
	HorizonMillis int64 `json:"horizon_millis"`

	Seen   state.Bag[bool]
	Expiry timers.EventTime

	dropped int64
}

func newDedupFn(horizonMillis int64) *dedupFn {
	return &dedupFn{
		HorizonMillis: horizonMillis,
		Seen:          state.MakeBagState[bool]("seen"),
		Expiry:        timers.InEventTime("expiry"),
	}
}

func (fn *dedupFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, id string, e event.Event, emit func(beam.EventTime, event.Event)) error {
	_, seen, err := fn.Seen.Read(sp)
	if err != nil {
		return err
	}
	if seen {
		fn.dropped++
		return nil
	}
	if err := fn.Seen.Add(sp, true); err != nil {
		return err
	}
	// The timer emits nothing, so it must not hold the watermark back.
	fn.Expiry.Set(tp, expiry(ts, fn.HorizonMillis).ToTime(), timers.WithNoOutputTimestamp())
	emit(ts, e)
	return nil
}

// expiry is ts plus horizon milliseconds, capped at the end of the global
// window, past which a timer cannot be set.
func expiry(ts beam.EventTime, horizonMillis int64) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if ts > end-mtime.Time(horizonMillis) {
		return end
	}
	return ts + mtime.Time(horizonMillis)
}

// OnTimer forgets the key. Beam requires it to take ProcessElement's
// emitters.
func (fn *dedupFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, id string, _ timers.Context, _ func(beam.EventTime, event.Event)) error {
	return fn.Seen.Clear(sp)
}

// FinishBundle adds the bundle's drops to the counter once, as parse does,
// rather than updating it per element.
func (fn *dedupFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event)) {
	counter.Flush(ctx, CounterDuplicates, &fn.dropped)
}
