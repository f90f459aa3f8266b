// Package outcome labels views with their delayed outcome: a view is
// labelled 1 when the same user likes, comments on, shares or buys the
// same item within a window after it (inclusive), and 0 when the window
// closes first.
//
// Every state access costs a runner round trip, so labels are decided in
// bulk: views and engagements are keyed by a shard of the user, grouped
// into fixed event-time batches by a GroupByKey, then a stateful DoFn per
// shard holds the pending views in one Value and the batches the
// watermark has not passed in a pending.Queue. An event-time timer at the end of
// each batch (one family, tagged by time) merges the ready batches, walks
// their events in (event time, event_id) order, labels 1 each pending view
// an engagement covers, and labels 0 the views whose window closed; a
// timer at the end of each batch holding a pending deadline closes
// windows when no events come. A label is emitted at the end of
// the batch in which it was decided (the start of the next), which depends only on event times,
// so replaying a file in any order labels and stamps every view alike.
// Events behind the watermark are dropped by the GroupByKey, as late data.
//
// The labelled view keeps all its fields, so a model learns from the
// features the view had when it was scored.
package outcome

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
	_ "github.com/pulse-analytics/pulse/transforms/parse" // event.Event coder
	"github.com/pulse-analytics/pulse/transforms/parts"
	"github.com/pulse-analytics/pulse/transforms/pending"
)

// DefaultWindow is the engagement window of the issue: 30 minutes.
const DefaultWindow = 30 * time.Minute

// Batch is the event-time batch labels are decided in.
const Batch = time.Minute

// Shards is how many keys the users are spread over: the labeller's
// parallelism.
const Shards = 16

// Counters in the "pulse" namespace.
const (
	CounterPositive = "outcome_positive"
	CounterNegative = "outcome_negative"
)

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, []byte)](&liftFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn4x0[beam.Window, string, func(*[]byte) bool, func(string, []byte)](&batchFn{})
	register.Iter1[[]byte]()
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte, func(event.Event), error](&labelFn{})
	register.Emitter1[event.Event]()
	register.Emitter2[string, []byte]()
}

// Engages reports whether action a is an engagement outcome.
func Engages(a event.Action) bool {
	return a == event.Like || a == event.Comment || a == event.Share || a == event.Purchase
}

// Label takes events (global window, timestamped by event time; or its
// parts, see package parts) and returns their views, in the global
// window, labelled: Label is 1 or 0 and HasLabel is set; in as many parts
// as events came in, split by user (a user's views are in one). An engagement
// window (within) under a millisecond means DefaultWindow.
// Events up to lateness behind the watermark are still labelled (on a
// stream, the late guard's allowed lateness); later ones are dropped by
// the batching, so the guard must have dead-lettered them already.
func Label(s beam.Scope, within, lateness time.Duration, events ...beam.PCollection) []beam.PCollection {
	s = s.Scope("Outcome")
	ms := within.Milliseconds()
	if ms <= 0 {
		ms = DefaultWindow.Milliseconds()
	}
	// Windowed in each part: on prism a DoFn after a Flatten is a stage of
	// its own, which would carry every lifted part again.
	windowed := parts.Apply(s, events, func(s beam.Scope, events beam.PCollection) beam.PCollection {
		lifted := beam.ParDo(s, &liftFn{}, events)
		// Named scopes keep transform names stable (Dataflow --update).
		return beam.WindowInto(s.Scope("IntoBatches"), window.NewFixedWindows(Batch), lifted, beam.AllowedLateness(lateness))
	})
	// The labeller runs in as many parts as the events come in, each on
	// the shards s with s % parts = part: on prism a part is a stage.
	batches := parts.ByKey(s.Scope("LabelParts"), len(events), true, batchParts(s, windowed))
	ls := s // one part keeps the names of an unsplit pipeline
	if len(batches) > 1 {
		ls = s.Scope("Label")
	}
	var labelled []beam.PCollection
	parts.Each(ls, batches, func(s beam.Scope, batches beam.PCollection) {
		bq, vq := pending.Make("batches"), pending.Make("views")
		labelled = append(labelled, beam.ParDo(s, &labelFn{
			WindowMillis: ms,
			Batches:      bq.Entries,
			BatchesIndex: bq.Index,
			Views:        vq.Entries,
			ViewsIndex:   vq.Index,
			Decide:       timers.InEventTime("decide"),
		}, batches))
	})
	return labelled
}

// shardOf is the shard of a user's events.
func shardOf(user string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(user))
	return h.Sum32() % Shards
}

// liftKey is a shard and a batch window's start; the shard becomes the
// GroupByKey's string key only when a batch is emitted.
type liftKey struct {
	shard uint32
	start int64
}

// liftFn keeps views and engagements, gathered per shard and batch
// window: one element per shard, window and bundle crosses the GroupByKey
// instead of one per event. A part holds one window's events, so the
// GroupByKey drops it as late exactly when it would have dropped each.
type liftFn struct {
	parts batch.Batcher[liftKey]
}

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, []byte)) {
	if e.Action != event.View && !Engages(e.Action) {
		return
	}
	t := int64(ts)
	if fn.parts.Add(liftKey{shard: shardOf(e.UserID), start: batch.Start(t, Batch.Milliseconds())}, t, &e) {
		fn.FinishBundle(emit)
	}
}

func (fn *liftFn) FinishBundle(emit func(beam.EventTime, string, []byte)) {
	fn.parts.Flush(func(k liftKey, p batch.Part) {
		emit(mtime.FromMilliseconds(p.MinTS), strconv.FormatUint(uint64(k.shard), 10), p.Data)
	})
}

// batchParts groups the lifted parts, in Batch windows, and returns each
// group as one encoded element, re-windowed into the global window.
func batchParts(s beam.Scope, windowed beam.PCollection) beam.PCollection {
	g := beam.ParDo(s, &batchFn{}, beam.GroupByKey(s, windowed))
	return beam.WindowInto(s.Scope("IntoGlobal"), window.NewGlobalWindows(), g)
}

// batchFn encodes a window's events: its end (Unix ms, varint), then the
// events, framed by event.AppendFramed.
type batchFn struct{}

func (fn *batchFn) ProcessElement(w beam.Window, key string, parts func(*[]byte) bool, emit func(string, []byte)) {
	b := binary.AppendVarint(nil, int64(w.(window.IntervalWindow).End))
	var p []byte
	for parts(&p) {
		b = append(b, p...)
	}
	emit(key, b)
}

// decodeEvents decodes framed events.
func decodeEvents(b []byte) ([]event.Event, error) {
	var out []event.Event
	err := batch.Each(b, func(enc []byte) error {
		var e event.Event
		if err := e.UnmarshalBinary(enc); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outcome: %w", err)
	}
	return out, nil
}

// labelFn decides a shard's labels. Batches and BatchesIndex are a
// pending.Queue of the batches not yet walked, due at their end; Views
// and ViewsIndex one of the views waiting for their outcome, as written
// by each firing: a chunk of its new views per batch their windows close
// in, due at that batch's end, and the views it labelled 1 that earlier
// chunks still hold, due when the last of those closes. So a firing
// writes what it changed, not every waiting view. The waiting views are
// also kept decoded beside the batches queue, and rebuilt from Views
// only when that copy is stale. Decide is the only timer family (two
// hang on prism).
type labelFn struct {
	WindowMillis int64 `json:"window_millis"`

	Batches      state.Bag[[]byte]
	BatchesIndex state.Value[[]byte]
	Views        state.Bag[[]byte]
	ViewsIndex   state.Value[[]byte]
	Decide       timers.EventTime

	batchQ, viewQ pending.Queue
	pos, neg      int64
}

func (fn *labelFn) batches() pending.State {
	return pending.State{Entries: fn.Batches, Index: fn.BatchesIndex}
}

func (fn *labelFn) views() pending.State {
	return pending.State{Entries: fn.Views, Index: fn.ViewsIndex}
}

func (fn *labelFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, b []byte, _ func(event.Event)) error {
	end, n := binary.Varint(b)
	if n <= 0 {
		return fmt.Errorf("outcome: batch header: corrupt end")
	}
	if err := fn.batchQ.Add(sp, fn.batches(), key, end, b[n:]); err != nil {
		return err
	}
	// At the batch's end, not its timestamp (end − 1): prism fires a
	// timer once the watermark reaches it, when elements stamped at that
	// very millisecond may still be on their way.
	fn.setTimer(tp, mtime.Time(ts)+1)
	return nil
}

func (fn *labelFn) setTimer(tp timers.Provider, at mtime.Time) {
	fn.Decide.Set(tp, at.ToTime(), timers.WithTag(strconv.FormatInt(int64(at), 10)))
}

// OnTimer walks the batches that end by the firing time. Timers fire
// only at batch ends, so every event before the firing time has been
// seen.
func (fn *labelFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(event.Event)) error {
	raws, aux, err := fn.batchQ.Take(sp, fn.batches(), key, int64(ts))
	if err != nil {
		return err
	}
	var events []event.Event
	for _, b := range raws {
		evs, err := decodeEvents(b)
		if err != nil {
			return err
		}
		events = append(events, evs...)
	}
	w, ok := aux.(*waiting)
	if !ok {
		if w, err = fn.loadWaiting(sp, key); err != nil {
			return err
		}
	}
	if len(events) == 0 && w.n == 0 {
		fn.batchQ.SetAux(key, w)
		return nil
	}
	slices.SortFunc(events, func(a, b event.Event) int {
		return cmp.Or(cmp.Compare(a.EventTime, b.EventTime), strings.Compare(a.EventID, b.EventID))
	})
	// Walk in event time; an engagement labels the covered views of its
	// user and item. A stored view labelled 1 is recorded as gone, unless
	// its chunk is taken now anyway.
	var gone []byte
	var goneDue mtime.Time
	var added []*view
	for i := range events {
		e := &events[i]
		k := pair{e.UserID, e.ItemID}
		if e.Action == event.View {
			added = append(added, w.add(k, *e, fn.closes(e)))
			continue
		}
		for _, v := range w.engage(k, e, fn.WindowMillis) {
			fn.pos++
			emit(labelled(v.e, 1))
			if v.stored && v.end > mtime.Time(ts) {
				gone = appendGone(gone, &v.e)
				goneDue = max(goneDue, v.end)
			}
		}
	}
	// Label 0 the views whose window closed; store the new ones, by the
	// batch their window closes in.
	w.close(mtime.Time(ts), func(v *view) {
		fn.neg++
		emit(labelled(v.e, 0))
	})
	fresh := map[mtime.Time][]byte{}
	for _, v := range added {
		if !v.done {
			fresh[v.end] = v.e.AppendFramed(fresh[v.end])
			v.stored = true
		}
	}
	// The closed windows' chunks and records go; their views were labelled.
	if _, _, err := fn.viewQ.Take(sp, fn.views(), key, int64(ts)); err != nil {
		return err
	}
	var items []pending.Item
	for _, end := range slices.Sorted(maps.Keys(fresh)) {
		items = append(items, pending.Item{Due: int64(end), Payload: append([]byte{chunkViews}, fresh[end]...)})
	}
	if len(gone) > 0 {
		items = append(items, pending.Item{Due: int64(goneDue), Payload: append([]byte{chunkGone}, gone...)})
	}
	if err := fn.viewQ.AddAll(sp, fn.views(), key, items); err != nil {
		return err
	}
	fn.batchQ.SetAux(key, w)
	// A timer per batch that closes a window, set again each firing (a
	// tag is set once): a chain of one timer re-armed per firing would
	// take one watermark round per batch.
	for _, end := range w.ends() {
		fn.setTimer(tp, end)
	}
	return nil
}

func (fn *labelFn) FinishBundle(ctx context.Context, _ func(event.Event)) {
	counter.Flush(ctx, CounterPositive, &fn.pos)
	counter.Flush(ctx, CounterNegative, &fn.neg)
}

// closes is the end of the batch in which v's window closes: the first
// batch end after its deadline, when a firing labels it 0.
func (fn *labelFn) closes(v *event.Event) mtime.Time {
	return batchEnd(deadline(v.EventTime, fn.WindowMillis))
}

func labelled(v event.Event, y float64) event.Event {
	v.Label, v.HasLabel = y, true
	return v
}

// deadline is t plus the window, capped at the end of the global window.
func deadline(t, windowMillis int64) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if mtime.Time(t) > end-mtime.Time(windowMillis) {
		return end
	}
	return mtime.Time(t + windowMillis)
}

// batchEnd is the end of the batch holding t, where batch timers fire.
func batchEnd(t mtime.Time) mtime.Time {
	b := mtime.Time(Batch.Milliseconds())
	start := t - ((t%b)+b)%b
	end := start + b
	if end > mtime.EndOfGlobalWindowTime || end < t {
		return mtime.EndOfGlobalWindowTime
	}
	return end
}
