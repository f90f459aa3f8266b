package sessions

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/statetest"
)

// streamRun feeds bundles of random hits of a few users, some behind the
// watermark, to one shard, and after each fires the timers the shard set
// that the watermark has passed, in time order. It returns the rows, with
// the time of the timer that emitted them, as strings, sorted. forget drops the worker's copy before every call;
// retry runs every call first on state that is then rolled back.
func streamRun(t *testing.T, seed uint64, forget, retry bool) []string {
	t.Helper()
	const gap = 10_000
	rng := rand.New(rand.NewPCG(seed, 3))
	fn := newStreamFn(gap*time.Millisecond, 6)
	st := statetest.New()
	tm := statetest.Timers{}
	var rows []string
	var firing int64 // when rows are emitted: a late close is a difference
	emit := func(r Row) {
		rows = append(rows, fmt.Sprintf("%s %s..%s n=%d v=%d c=%d p=%d i=%d @%d", r.UserID, r.SessionStart, r.SessionEnd, r.Events, r.Views, r.Carts, r.Purchases, r.Items, firing))
	}
	call := func(f func(sp state.Provider, emit func(Row)) error) {
		if forget {
			fn.queue = pending.Queue{}
		}
		if retry {
			// A failed bundle's state writes and timers are both dropped.
			before, set := st.Snapshot(), maps.Clone(tm)
			if err := f(st, func(Row) {}); err != nil {
				t.Fatal(err)
			}
			st.Restore(before)
			clear(tm)
			maps.Copy(tm, set)
		}
		if err := f(st, emit); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	actions := []event.Action{event.View, event.Cart, event.Purchase, event.Like}
	var wm int64
	firings := 0
	for range 80 {
		var hb hitBatch
		for u := range 4 {
			var hs []hit
			for range rng.IntN(3) {
				hs = append(hs, hit{Time: wm - 4000 + rng.Int64N(9000), Item: rng.Uint64N(5), Action: actions[rng.IntN(len(actions))]})
			}
			if len(hs) > 0 {
				hb.Users = append(hb.Users, userHits{User: fmt.Sprint("u", u), Hits: hs})
			}
		}
		if len(hb.Users) > 0 {
			call(func(sp state.Provider, emit func(Row)) error {
				return fn.ProcessElement(ctx, mtime.Time(wm), sp, tm, "0", hb, emit)
			})
		}
		wm += rng.Int64N(4000)
		for {
			var due []int64
			for at := range tm {
				if at <= wm {
					due = append(due, at)
				}
			}
			if len(due) == 0 {
				break
			}
			at := slices.Min(due)
			delete(tm, at)
			if firings++; firings > 10_000 {
				t.Fatalf("seed %d: timers keep firing", seed)
			}
			firing = at
			call(func(sp state.Provider, emit func(Row)) error {
				return fn.OnTimer(ctx, mtime.Time(at), sp, tm, "0", timers.Context{}, emit)
			})
		}
	}
	slices.Sort(rows)
	return rows
}

// A shard's worker copy of its open hits and schedule is a cache:
// dropping it before every call, or running every call once on state that
// is then rolled back, gives exactly the rows that keeping it gives.
func TestStreamRebuildsFromState(t *testing.T) {
	for seed := range uint64(6) {
		want := streamRun(t, seed, false, false)
		if len(want) < 10 {
			t.Fatalf("seed %d: only %d sessions", seed, len(want))
		}
		for _, tc := range []struct {
			name          string
			forget, retry bool
		}{{"forgetful", true, false}, {"retried", false, true}, {"both", true, true}} {
			if got := streamRun(t, seed, tc.forget, tc.retry); !slices.Equal(got, want) {
				t.Errorf("seed %d %s: %d rows, want %d:\n got %q\nwant %q", seed, tc.name, len(got), len(want), got, want)
			}
		}
	}
}

// A firing that closes nothing but moves a user's timer, run in a bundle
// that fails, must move it again when retried: the runner dropped the
// timer with the bundle, so the worker's copy may not be taken as current.
func TestRetriedFiringSetsItsTimerAgain(t *testing.T) {
	fn := newStreamFn(10*time.Second, 100)
	st, tm := statetest.New(), statetest.Timers{}
	ctx := context.Background()
	for _, h := range []hit{{Time: 0}, {Time: 5000}} {
		if err := fn.ProcessElement(ctx, mtime.Time(h.Time), st, tm, "0", hitBatch{Users: []userHits{{User: "u", Hits: []hit{h}}}}, func(Row) {}); err != nil {
			t.Fatal(err)
		}
	}
	if !tm[10_000] {
		t.Fatalf("timers %v, want one at 10s", tm)
	}
	fire := func() {
		if err := fn.OnTimer(ctx, mtime.Time(10_000), st, tm, "0", timers.Context{}, func(r Row) { t.Errorf("closed %+v early", r) }); err != nil {
			t.Fatal(err)
		}
	}
	before := st.Snapshot()
	clear(tm)
	fire()
	if !tm[15_000] {
		t.Fatalf("first attempt set timers %v, want one at 15s", tm)
	}
	st.Restore(before)
	clear(tm)
	fire()
	if !tm[15_000] {
		t.Errorf("the retry set timers %v, want one at 15s", tm)
	}
}
