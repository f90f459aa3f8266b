package outcome

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/statetest"
)

const minute = 60000

// minutes of random views and engagements over few users and items, so
// that pairs recur; by minute.
func randomBatches(seed uint64, minutes int) map[int][]event.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := map[int][]event.Event{}
	actions := []event.Action{event.View, event.View, event.View, event.Like, event.Purchase, event.Share}
	for i := range minutes * 20 {
		m := rng.IntN(minutes)
		out[m] = append(out[m], event.Event{
			EventID: fmt.Sprint("e", i), UserID: fmt.Sprint("u", rng.IntN(6)), ItemID: fmt.Sprint("i", rng.IntN(5)),
			Action: actions[rng.IntN(len(actions))], EventTime: int64(m)*minute + rng.Int64N(minute),
		})
	}
	return out
}

// runLabeller feeds each minute's batch to one shard's labeller and fires
// its timer at every minute's end, returning the labels as
// "id=label@firing minute". Before every call, forget drops the worker's
// copies (the rebuild path), and retry runs a call first on a snapshot
// that is then rolled back, as a failed bundle would be.
func runLabeller(t *testing.T, batches map[int][]event.Event, minutes int, forget, retry bool) []string {
	t.Helper()
	bq, vq := pending.Make("batches"), pending.Make("views")
	fn := &labelFn{WindowMillis: 30 * minute, Batches: bq.Entries, BatchesIndex: bq.Index,
		Views: vq.Entries, ViewsIndex: vq.Index, Decide: timers.InEventTime("decide")}
	st := statetest.New()
	var got []string
	var firing int
	emit := func(e event.Event) { got = append(got, fmt.Sprintf("%s=%v@%d", e.EventID, e.Label, firing)) }
	call := func(f func(sp state.Provider, emit func(event.Event)) error) {
		if forget {
			fn.batchQ, fn.viewQ = pending.Queue{}, pending.Queue{}
		}
		if retry {
			before := st.Snapshot()
			if err := f(st, func(event.Event) {}); err != nil {
				t.Fatal(err)
			}
			st.Restore(before)
		}
		if err := f(st, emit); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for m := range minutes + 32 {
		end := int64(m+1) * minute
		if evs := batches[m]; len(evs) > 0 {
			b := binary.AppendVarint(nil, end)
			for i := range evs {
				b = evs[i].AppendFramed(b)
			}
			call(func(sp state.Provider, emit func(event.Event)) error {
				return fn.ProcessElement(ctx, beam.EventTime(end-1), sp, statetest.Timers{}, "0", b, emit)
			})
		}
		firing = m + 1
		call(func(sp state.Provider, emit func(event.Event)) error {
			return fn.OnTimer(ctx, mtime.Time(end), sp, statetest.Timers{}, "0", timers.Context{}, emit)
		})
	}
	slices.Sort(got)
	return got
}

// reference labels by definition: 1 at the end of the minute of the
// first engagement of the same user and item within 30 minutes after the
// view, else 0 at the end of the minute after the window closed.
func reference(batches map[int][]event.Event) []string {
	var all []event.Event
	for _, evs := range batches {
		all = append(all, evs...)
	}
	var out []string
	for _, v := range all {
		if v.Action != event.View {
			continue
		}
		first := int64(-1)
		for _, e := range all {
			if Engages(e.Action) && e.UserID == v.UserID && e.ItemID == v.ItemID &&
				e.EventTime >= v.EventTime && e.EventTime-v.EventTime <= 30*minute && (first < 0 || e.EventTime < first) {
				first = e.EventTime
			}
		}
		if first >= 0 {
			out = append(out, fmt.Sprintf("%s=1@%d", v.EventID, max(first, v.EventTime)/minute+1))
		} else {
			out = append(out, fmt.Sprintf("%s=0@%d", v.EventID, (v.EventTime+30*minute)/minute+1))
		}
	}
	slices.Sort(out)
	return out
}

// The labeller's worker copies are a cache: dropping them before every
// call, or running every call once on state that is then rolled back,
// labels exactly as keeping them does, and as the definition does.
func TestLabellerRebuildsFromState(t *testing.T) {
	const minutes = 90
	for seed := range uint64(4) {
		batches := randomBatches(seed, minutes)
		want := reference(batches)
		for _, tc := range []struct {
			name          string
			forget, retry bool
		}{{"cached", false, false}, {"forgetful", true, false}, {"retried", false, true}, {"both", true, true}} {
			got := runLabeller(t, batches, minutes, tc.forget, tc.retry)
			if !slices.Equal(got, want) {
				t.Errorf("seed %d %s: %d labels, want %d; first difference %s",
					seed, tc.name, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q vs %q", a[i], b[i])
		}
	}
	return "in length"
}

// Labelled views leave both indexes, and a batch end whose views were all
// labelled 1 needs no timer: what is left is exactly what still waits.
func TestWaitingForgetsLabelledViews(t *testing.T) {
	w := newWaiting()
	add := func(id, user string, at int64, end mtime.Time) {
		w.add(pair{user, "i"}, event.Event{EventID: id, UserID: user, ItemID: "i", EventTime: at}, end)
	}
	add("a", "u1", 0, 2*minute)
	add("b", "u2", 0, 2*minute)
	add("c", "u1", 90000, 3*minute)
	like := event.Event{UserID: "u1", ItemID: "i", EventTime: 100000}
	if hit := w.engage(pair{"u1", "i"}, &like, 30*minute); len(hit) != 2 {
		t.Fatalf("engage labelled %d views, want 2", len(hit))
	}
	if got := w.ends(); !slices.Equal(got, []mtime.Time{2 * minute}) {
		t.Errorf("ends after engage = %v, want [%d]: 3m holds no live view", got, 2*minute)
	}
	var closed []string
	w.close(2*minute, func(v *view) { closed = append(closed, v.e.EventID) })
	if !slices.Equal(closed, []string{"b"}) {
		t.Errorf("closed %v, want [b]", closed)
	}
	if w.n != 0 || len(w.byPair) != 0 || len(w.byEnd) != 0 {
		t.Errorf("left n=%d, %d pairs, %d ends; want nothing", w.n, len(w.byPair), len(w.byEnd))
	}
}
