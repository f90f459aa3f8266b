// Package outcome labels views with their delayed outcome: a view is
// labelled 1 when the same user likes, comments on, shares or buys the
// same item within a window after it, and 0 when the window closes first.
//
// Labels are decided in event time by a stateful DoFn keyed by
// (user_id, item_id): pending views wait in a Bag, one event-time timer
// fires at the latest pending deadline (view time + window) and labels the
// expired views 0; an engagement labels the views whose window covers it 1.
// The labelled view keeps all its fields, so a model learns from the
// features the view had when it was scored.
package outcome

import (
	"context"
	"fmt"
	"slices"
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

// labelFn holds a key's pending views as binary events in a Bag (a Bag
// add is one state round trip; a Value write is two). Deadline is the
// only timer family: two families hang on prism.
type labelFn struct {
	WindowMillis int64 `json:"window_millis"`

	Pending  state.Bag[[]byte]
	Deadline timers.EventTime

	pos, neg int64
}

func (fn *labelFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, e event.Event, emit func(beam.EventTime, event.Event)) error {
	if e.Action == event.View {
		if err := fn.Pending.Add(sp, e.AppendBinary(nil)); err != nil {
			return err
		}
		// Out-of-order views may move the timer earlier; OnTimer re-arms
		// for whatever is still pending.
		fn.Deadline.Set(tp, deadline(e.EventTime, fn.WindowMillis).ToTime())
		return nil
	}
	views, err := fn.read(sp)
	if err != nil || len(views) == 0 {
		return err
	}
	var keep []event.Event
	for _, v := range views {
		switch {
		case v.EventTime > e.EventTime:
			keep = append(keep, v) // the engagement precedes this view
		case e.EventTime-v.EventTime <= fn.WindowMillis:
			fn.pos++
			emit(ts, labelled(v, 1))
		default:
			fn.neg++
			emit(ts, labelled(v, 0)) // expired; its timer has not fired yet
		}
	}
	if len(keep) == len(views) {
		return nil
	}
	return fn.write(sp, keep)
}

// OnTimer labels 0 the views whose window closed by the firing time and
// re-arms for the rest.
func (fn *labelFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(beam.EventTime, event.Event)) error {
	views, err := fn.read(sp)
	if err != nil {
		return err
	}
	var keep []event.Event
	next := mtime.MinTimestamp
	for _, v := range views {
		d := deadline(v.EventTime, fn.WindowMillis)
		if d <= mtime.Time(ts) {
			fn.neg++
			emit(ts, labelled(v, 0))
			continue
		}
		keep = append(keep, v)
		next = max(next, d)
	}
	if len(keep) > 0 {
		fn.Deadline.Set(tp, next.ToTime())
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
