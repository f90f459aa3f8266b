package dedup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/statetest"
)

// arrival is one bundle of one shard: its events, then a watermark.
type arrival struct {
	events    []event.Event
	watermark int64
}

// randomArrivals are bundles of ids that recur within and beyond a
// horizon of 10 s, with event times behind and ahead of the watermark.
func randomArrivals(seed uint64) []arrival {
	rng := rand.New(rand.NewPCG(seed, 2))
	var out []arrival
	var wm int64
	for b := range 60 {
		var evs []event.Event
		for i := range 1 + rng.IntN(12) {
			id := fmt.Sprint("id", rng.IntN(40))
			evs = append(evs, event.Event{EventID: id, Text: fmt.Sprint(b, ".", i), EventTime: wm - 3000 + rng.Int64N(6000)})
		}
		wm += rng.Int64N(1500)
		out = append(out, arrival{evs, wm})
	}
	return out
}

// runShard feeds the arrivals to one shard and, after each, fires a timer
// at every whole second the watermark passed, returning the kept events
// as "id@text". forget drops the worker's copy before every call; retry
// runs every call first on state that is then rolled back.
func runShard(t *testing.T, arrivals []arrival, horizon int64, forget, retry bool) []string {
	t.Helper()
	fn := newDedupFn(horizon)
	st := statetest.New()
	var kept []string
	emit := func(_ mtime.Time, e event.Event) { kept = append(kept, e.EventID+"@"+e.Text) }
	call := func(f func(sp state.Provider, emit func(mtime.Time, event.Event)) error) {
		if forget {
			fn.queue = pending.Queue{}
		}
		if retry {
			before := st.Snapshot()
			if err := f(st, func(mtime.Time, event.Event) {}); err != nil {
				t.Fatal(err)
			}
			st.Restore(before)
		}
		if err := f(st, emit); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	fired := int64(-1 << 40)
	for _, a := range arrivals {
		var parts batch.Batcher[int]
		parts.Stamped = true
		for i := range a.events {
			parts.Add(0, a.events[i].EventTime, &a.events[i])
		}
		parts.Flush(func(_ int, p batch.Part) {
			call(func(sp state.Provider, emit func(mtime.Time, event.Event)) error {
				return fn.ProcessElement(ctx, mtime.Time(p.MinTS), sp, statetest.Timers{}, 0, p.Data, emit)
			})
		})
		for sec := max(fired+1000, batch.Start(a.watermark, 1000)-60_000); sec <= a.watermark; sec += 1000 {
			sec := batch.Start(sec, 1000)
			call(func(sp state.Provider, emit func(mtime.Time, event.Event)) error {
				// As the SDK calls it: tagged with its time, no timestamp.
				return fn.OnTimer(ctx, sp, statetest.Timers{}, 0, timers.Context{Family: "expiry", Tag: strconv.FormatInt(sec, 10)}, emit)
			})
			fired = sec
		}
	}
	return kept
}

// reference applies the package doc's rule: a copy is dropped while the
// watermark has not passed its id's last kept copy's event time plus the
// horizon, rounded up to the second.
func reference(arrivals []arrival, horizon int64) []string {
	forget := map[string]int64{} // id -> rounded expiry of its kept copy
	var kept []string
	wm := int64(-1 << 40)
	for _, a := range arrivals {
		for _, e := range a.events {
			if exp, ok := forget[e.EventID]; ok && exp > wm {
				continue
			}
			forget[e.EventID] = int64(roundUp(mtime.Time(e.EventTime + horizon)))
			kept = append(kept, e.EventID+"@"+e.Text)
		}
		wm = a.watermark
	}
	return kept
}

// A shard's worker copy of its ids is a cache: dropping it before every
// call, or running every call once on state that is then rolled back,
// keeps exactly what keeping it does, and what the rule says.
func TestShardRebuildsFromState(t *testing.T) {
	const horizon = 10_000
	for seed := range uint64(6) {
		arrivals := randomArrivals(seed)
		want := reference(arrivals, horizon)
		for _, tc := range []struct {
			name          string
			forget, retry bool
		}{{"cached", false, false}, {"forgetful", true, false}, {"retried", false, true}, {"both", true, true}} {
			got := runShard(t, arrivals, horizon, tc.forget, tc.retry)
			if !slices.Equal(got, want) {
				t.Errorf("seed %d %s: kept %d, want %d:\n got %q\nwant %q", seed, tc.name, len(got), len(want), got, want)
			}
		}
	}
}

func TestRoundUp(t *testing.T) {
	end := mtime.EndOfGlobalWindowTime
	for _, tc := range []struct{ t, want mtime.Time }{
		{0, 0}, {1, 1000}, {999, 1000}, {1000, 1000}, {1001, 2000},
		{-1, 0}, {-999, 0}, {-1000, -1000}, {-1001, -1000},
		{end - 1, end}, {end, end},
	} {
		if got := roundUp(tc.t); got != tc.want {
			t.Errorf("roundUp(%d) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
