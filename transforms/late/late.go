// Package late keeps events that are too late for the windowed tables from
// vanishing. A runner drops an element silently once the watermark has
// passed its window's end plus the allowed lateness; Guard instead sends
// such events to the dead letter with the reason, and counts them
// (events_too_late), so that read = used + dead-lettered + de-duplicated +
// too late.
//
// A DoFn cannot read the watermark, but an event-time timer proves, when it
// fires, that the watermark has reached its time. Guard keys events by
// their tumbling window (and a shard of their id, so that the current
// window is not one hot key), sets a timer for just after the window
// expires, and from then on dead-letters the key's events. An event is
// caught when an earlier event of the same window and shard arrived in
// time to set the timer; the first event ever seen of an already expired
// window and shard still reaches the windowing, which drops it uncounted.
// The expiry mark is forgotten a day after the window expired. Guard uses
// only Value state and event-time timers, so it runs on Flink.
package late

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// CounterTooLate counts events dead-lettered as too late.
const CounterTooLate = "events_too_late"

const forget = "forget"

// Shards is how many keys each window is spread over: enough to keep a few
// workers busy with the current window, few enough that most late events
// find their window and shard already seen.
const Shards = 8

// Retention is how long after a window expired the guard remembers it.
const Retention = 24 * time.Hour

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, []byte)](&liftFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn8x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte, func(beam.EventTime, event.Event), func(deadletter.Row), error](&guardFn{})
	register.Emitter2[beam.EventTime, event.Event]()
	register.Emitter1[deadletter.Row]()
}

// Guard passes on the events (a PCollection<event.Event> in the global
// window, timestamped by event time) that tumbling windows of the given
// size and allowed lateness still accept, and returns the others as
// dead-letter rows. shards spreads each window over that many keys. Use it
// on unbounded input: a bounded replay has no late data.
func Guard(s beam.Scope, window, lateness time.Duration, shards int, events beam.PCollection) (kept, dead beam.PCollection) {
	s = s.Scope("LateGuard")
	fn := &guardFn{
		WindowMillis:   window.Milliseconds(),
		LatenessMillis: lateness.Milliseconds(),
		Expired:        state.MakeValueState[bool]("expired"),
		Timer:          timers.InEventTime("expiry"),
	}
	keyed := beam.ParDo(s, &liftFn{WindowMillis: window.Milliseconds(), Shards: max(shards, 1)}, events)
	return beam.ParDo2(s, fn, keyed)
}

// liftFn keys events by window and shard and gathers a bundle's events of
// one key into one element, so that the guard reads its key's state once
// per batch rather than once per event (each read is a round trip to the
// runner). A batch is stamped with its earliest event's timestamp, and
// keeps each event's own.
type liftFn struct {
	WindowMillis int64 `json:"window_millis"`
	Shards       int   `json:"shards"`

	parts batch.Batcher[liftKey]
}

// liftKey is a window's start and a shard; it becomes the GroupByKey's
// string key only when a batch is emitted.
type liftKey struct {
	start int64
	shard uint32
}

func (fn *liftFn) Setup() { fn.parts.Stamped = true }

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, []byte)) {
	h := fnv.New32a()
	h.Write([]byte(e.EventID))
	k := liftKey{start: batch.Start(int64(ts), fn.WindowMillis), shard: h.Sum32() % uint32(fn.Shards)}
	if fn.parts.Add(k, int64(ts), &e) {
		fn.FinishBundle(emit)
	}
}

func (fn *liftFn) FinishBundle(emit func(beam.EventTime, string, []byte)) {
	fn.parts.Flush(func(k liftKey, p batch.Part) {
		emit(mtime.FromMilliseconds(p.MinTS), k.String(), p.Data)
	})
}

// String is the key a batch of k is grouped under: "start/shard".
func (k liftKey) String() string {
	return strconv.FormatInt(k.start, 10) + "/" + strconv.FormatUint(uint64(k.shard), 10)
}

// windowStart reads the window start back from a liftKey's String.
func windowStart(key string) (int64, error) {
	start, _, ok := strings.Cut(key, "/")
	ms, err := strconv.ParseInt(start, 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("late guard: key %q is not window start/shard", key)
	}
	return ms, nil
}

type guardFn struct {
	WindowMillis   int64 `json:"window_millis"`
	LatenessMillis int64 `json:"lateness_millis"`

	// Expired is set once the untagged timer fired: the watermark has
	// passed the key's window expiry. The timer tagged "forget" clears it.
	// (One family with tags: prism v2.77 hangs a DoFn with two families.)
	Expired state.Value[bool]
	Timer   timers.EventTime

	tooLate int64
}

func (fn *guardFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, b []byte, kept func(beam.EventTime, event.Event), dead func(deadletter.Row)) error {
	expired, _, err := fn.Expired.Read(sp)
	if err != nil {
		return fmt.Errorf("late guard: %w", err)
	}
	err = batch.EachStamped(b, func(t int64, enc []byte) error {
		var e event.Event
		if err := e.UnmarshalBinary(enc); err != nil {
			return err
		}
		if expired {
			fn.tooLate++
			dead(deadletter.New(e.AppendJSON(nil), fmt.Sprintf("too late: event_time %s is past its window's allowed lateness (%v)",
				e.Time().Format(time.RFC3339Nano), time.Duration(fn.LatenessMillis)*time.Millisecond), "late-guard", time.Now()))
			return nil
		}
		kept(mtime.FromMilliseconds(t), e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("late guard: %w", err)
	}
	if expired {
		return nil
	}
	// The window's last accepted watermark is its maximum timestamp plus the
	// lateness; a timer just after it fires once the window is closed.
	// Setting it again for the same key and time is harmless. All of a
	// batch's events share the window.
	exp := batch.Start(int64(ts), fn.WindowMillis) + fn.WindowMillis - 1 + fn.LatenessMillis
	fn.Timer.Set(tp, mtime.FromMilliseconds(exp+1).ToTime(), timers.WithNoOutputTimestamp())
	return nil
}

// OnTimer marks the key's window expired, and forgets it Retention later.
// The expiry's time comes from the key: the Go SDK passes OnTimer a
// timer's output timestamp, and these timers have none (the end of
// time), from which the forget timer would never fire.
func (fn *guardFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, key string, tc timers.Context, _ func(beam.EventTime, event.Event), _ func(deadletter.Row)) error {
	if tc.Tag == forget {
		return fn.Expired.Clear(sp)
	}
	start, err := windowStart(key)
	if err != nil {
		return err
	}
	fired := start + fn.WindowMillis + fn.LatenessMillis // exp+1 of ProcessElement
	fn.Timer.Set(tp, mtime.FromMilliseconds(fired).ToTime().Add(Retention), timers.WithTag(forget), timers.WithNoOutputTimestamp())
	return fn.Expired.Write(sp, true)
}

func (fn *guardFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event), _ func(deadletter.Row)) {
	counter.Flush(ctx, CounterTooLate, &fn.tooLate)
}
