// Package outcome labels views with their delayed outcome: a view is
// labelled 1 when the same user likes, comments on, shares or buys the
// same item within a window after it, and 0 when the window closes first.
//
// Labels are decided in event time by a stateful DoFn keyed by
// (user_id, item_id): pending views wait in a Bag; an engagement labels
// the pending views whose window covers it 1, at its own timestamp, and
// waits in the Bag until the watermark passes it for views that arrive
// after it; an event-time timer per view deadline (one family, tagged by
// time) labels the expired views 0 at their deadline. Timestamps depend
// only on event times, so replaying a file in another order labels and
// stamps every view alike (when two engagements cover one view, the first
// processed wins).
// The labelled view keeps all its fields, so a model learns from the
// features the view had when it was scored.
package outcome

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
	_ "github.com/pulse-analytics/pulse/transforms/parse" // event.Event coder
)

// DefaultWindow is the engagement window of the issue: 30 minutes.
const DefaultWindow = 30 * time.Minute

// Counters in the "pulse" namespace.
const (
	CounterPositive = "outcome_positive"
	CounterNegative = "outcome_negative"
)

func init() {
	register.Function2x0(keyByPair)
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, event.Event, func(beam.EventTime, event.Event), error](&labelFn{})
	register.Emitter2[beam.EventTime, event.Event]()
	register.Emitter2[string, event.Event]()
}

// Engages reports whether action a is an engagement outcome.
func Engages(a event.Action) bool {
	return a == event.Like || a == event.Comment || a == event.Share || a == event.Purchase
}

// Label takes events (global window, timestamped by event time) and
// returns their views labelled: Label is 1 or 0 and HasLabel is set. A
// positive is emitted at its engagement's timestamp, a negative at the
// view's deadline. A window under a millisecond means DefaultWindow.
func Label(s beam.Scope, window time.Duration, events beam.PCollection) beam.PCollection {
	s = s.Scope("Outcome")
	ms := window.Milliseconds()
	if ms <= 0 {
		ms = DefaultWindow.Milliseconds()
	}
	keyed := beam.ParDo(s, keyByPair, events)
	return beam.ParDo(s, &labelFn{WindowMillis: ms, Pending: state.MakeBagState[[]byte]("pending"), Deadline: timers.InEventTime("deadline")}, keyed)
}

// keyByPair keeps views and engagements, keyed by user and item.
func keyByPair(e event.Event, emit func(string, event.Event)) {
	if e.Action == event.View || Engages(e.Action) {
		emit(e.UserID+"\x00"+e.ItemID, e)
	}
}

// labelFn holds a key's pending views and recent engagements as binary
// events in a Bag (a Bag add is one state round trip; a Value write is
// two). Deadline is the only timer family (two hang on prism); tags tell
// its timers apart.
type labelFn struct {
	WindowMillis int64 `json:"window_millis"`

	Pending  state.Bag[[]byte]
	Deadline timers.EventTime

	pos, neg int64
}

func (fn *labelFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, e event.Event, emit func(beam.EventTime, event.Event)) error {
	held, err := fn.read(sp)
	if err != nil {
		return err
	}
	if e.Action == event.View {
		// An engagement that arrived first labels the view at once, at the
		// engagement's time, as if it had come in order.
		for _, g := range held {
			if g.Action != event.View && fn.covers(e, g) {
				fn.pos++
				emit(mtime.Time(g.EventTime), labelled(e, 1))
				return nil
			}
		}
		if err := fn.Pending.Add(sp, e.AppendBinary(nil)); err != nil {
			return err
		}
		d := deadline(e.EventTime, fn.WindowMillis)
		fn.Deadline.Set(tp, d.ToTime(), timers.WithTag(strconv.FormatInt(int64(d), 10)))
		return nil
	}
	var keep []event.Event
	for _, v := range held {
		if v.Action == event.View && fn.covers(v, e) {
			fn.pos++
			emit(ts, labelled(v, 1))
			continue
		}
		keep = append(keep, v)
	}
	// Hold the engagement until the watermark passes it, for views that
	// precede it in event time but arrive later.
	keep = append(keep, e)
	gc := mtime.Time(e.EventTime + 1)
	fn.Deadline.Set(tp, gc.ToTime(), timers.WithTag(strconv.FormatInt(int64(gc), 10)), timers.WithNoOutputTimestamp())
	if len(keep) == len(held)+1 {
		return fn.Pending.Add(sp, e.AppendBinary(nil))
	}
	return fn.write(sp, keep)
}

// covers reports whether engagement g falls in view v's window.
func (fn *labelFn) covers(v, g event.Event) bool {
	return g.EventTime >= v.EventTime && g.EventTime-v.EventTime <= fn.WindowMillis
}

// OnTimer labels 0 the views whose window closed by the firing time and
// forgets the engagements the watermark has passed. Each view has a timer
// tagged with its own deadline, so its negative is emitted exactly then
// whatever the arrival order.
func (fn *labelFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(beam.EventTime, event.Event)) error {
	held, err := fn.read(sp)
	if err != nil {
		return err
	}
	var keep []event.Event
	for _, v := range held {
		if v.Action != event.View {
			if mtime.Time(v.EventTime) >= mtime.Time(ts) {
				keep = append(keep, v)
			}
			continue
		}
		if deadline(v.EventTime, fn.WindowMillis) <= mtime.Time(ts) {
			fn.neg++
			emit(ts, labelled(v, 0))
			continue
		}
		keep = append(keep, v)
	}
	if len(keep) == len(held) {
		return nil
	}
	return fn.write(sp, keep)
}

func (fn *labelFn) read(sp state.Provider) ([]event.Event, error) {
	raw, _, err := fn.Pending.Read(sp)
	if err != nil {
		return nil, err
	}
	views := make([]event.Event, len(raw))
	for i, b := range raw {
		if err := views[i].UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("outcome: pending view: %w", err)
		}
	}
	// Emit in a reproducible order whatever order the runner kept.
	slices.SortFunc(views, func(a, b event.Event) int {
		if a.EventTime != b.EventTime {
			return int(a.EventTime - b.EventTime)
		}
		return cmpString(a.EventID, b.EventID)
	})
	return views, nil
}

func (fn *labelFn) write(sp state.Provider, views []event.Event) error {
	if err := fn.Pending.Clear(sp); err != nil {
		return err
	}
	for i := range views {
		if err := fn.Pending.Add(sp, views[i].AppendBinary(nil)); err != nil {
			return err
		}
	}
	return nil
}

func (fn *labelFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event)) {
	if fn.pos != 0 {
		beam.NewCounter("pulse", CounterPositive).Inc(ctx, fn.pos)
		fn.pos = 0
	}
	if fn.neg != 0 {
		beam.NewCounter("pulse", CounterNegative).Inc(ctx, fn.neg)
		fn.neg = 0
	}
}

func labelled(v event.Event, y float64) event.Event {
	v.Label, v.HasLabel = y, true
	return v
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deadline is t plus the window, capped at the end of the global window.
func deadline(t, windowMillis int64) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if mtime.Time(t) > end-mtime.Time(windowMillis) {
		return end
	}
	return mtime.Time(t + windowMillis)
}
