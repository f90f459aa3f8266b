package alerts

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// runner plays a runner for one key of scoreFn: it keeps the key's state
// and its one timer, delivers windows in whatever order a test asks, and
// fires the timer as the watermark passes it. Prism delivers a stage's
// pending elements in timestamp order, so only this can check that
// arrival order does not matter.
type runner struct {
	t      *testing.T
	fn     *scoreFn
	values map[string]any
	bags   map[string][]any
	timer  *int64
	wm     int64
	rows   []Row
}

func newRunner(t *testing.T, cfg Config) *runner {
	return &runner{t: t, fn: newScoreFn(cfg.withDefaults()), values: map[string]any{}, bags: map[string][]any{}, wm: -1 << 62}
}

// The state.Provider methods scoreFn uses; the rest panic (nil embed).
type fakeState struct {
	state.Provider
	r *runner
}

func (p fakeState) ReadValueState(id string) (any, []state.Transaction, error) {
	return p.r.values[id], nil, nil
}
func (p fakeState) WriteValueState(tx state.Transaction) error {
	p.r.values[tx.Key] = tx.Val
	return nil
}
func (p fakeState) ClearValueState(tx state.Transaction) error {
	delete(p.r.values, tx.Key)
	return nil
}
func (p fakeState) ReadBagState(id string) ([]any, []state.Transaction, error) {
	return slices.Clone(p.r.bags[id]), nil, nil
}
func (p fakeState) WriteBagState(tx state.Transaction) error {
	p.r.bags[tx.Key] = append(p.r.bags[tx.Key], tx.Val)
	return nil
}
func (p fakeState) ClearBagState(tx state.Transaction) error { delete(p.r.bags, tx.Key); return nil }

type fakeTimers struct{ r *runner }

func (p fakeTimers) Set(tm timers.TimerMap) {
	if tm.Clear {
		p.r.timer = nil
		return
	}
	at := int64(tm.FireTimestamp)
	p.r.timer = &at
}

const key = "category|music"

func (r *runner) deliver(w windowCounts) {
	r.t.Helper()
	if err := r.fn.ProcessElement(context.Background(), fakeState{r: r}, fakeTimers{r}, key, w, nil); err != nil {
		r.t.Fatal(err)
	}
}

// advance moves the watermark to wm, firing the timer while it is due.
func (r *runner) advance(wm int64) {
	r.t.Helper()
	r.wm = wm
	for r.timer != nil && *r.timer <= wm {
		at := *r.timer
		r.timer = nil // a timer that fired is gone unless set again
		err := r.fn.OnTimer(context.Background(), mtime.FromMilliseconds(at), fakeState{r: r}, fakeTimers{r}, key,
			timers.Context{Family: "score"}, func(row Row) { r.rows = append(r.rows, row) })
		if err != nil {
			r.t.Fatal(err)
		}
	}
}

// steady returns an hour of one-minute windows around 100 events, with a
// surge in minute 20, a drop in 35, two empty minutes (44, 45) and a
// share jump in 50.
func steady() []windowCounts {
	var ws []windowCounts
	for m := range int64(60) {
		if m == 44 || m == 45 {
			continue
		}
		v, s := 95+m*7%11, int64(3)
		switch m {
		case 20:
			v = 300
		case 35:
			v = 30
		case 50:
			v, s = 70, 30
		}
		ws = append(ws, windowCounts{End: (m + 1) * minute, Size: minute, Actions: counts(map[event.Action]int64{event.View: v, event.Share: s})})
	}
	return ws
}

func TestScoreFnOrderIndependent(t *testing.T) {
	ws := steady()
	last := ws[len(ws)-1].End

	// The reference: each window delivered, then the watermark passes it.
	ref := newRunner(t, Config{})
	for _, w := range ws {
		ref.deliver(w)
		ref.advance(w.End)
	}
	if len(ref.rows) < 4 {
		t.Fatalf("reference run found %d alerts, want the surge, drop, gap and share jump: %+v", len(ref.rows), ref.rows)
	}

	// Everything delivered newest first, then the watermark jumps past it
	// all, as in a batch: one timer firing sees many windows.
	rev := newRunner(t, Config{})
	for _, w := range slices.Backward(ws) {
		rev.deliver(w)
	}
	rev.advance(mtime.MaxTimestamp.Milliseconds())
	if !slices.Equal(rev.rows, ref.rows) {
		t.Errorf("newest first:\n got %+v\nwant %+v", rev.rows, ref.rows)
	}

	// Random orders, with the watermark moving up to the oldest window
	// not delivered yet, so that no window is late.
	for seed := range uint64(20) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		order := slices.Clone(ws)
		rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		r := newRunner(t, Config{})
		for i, w := range order {
			r.deliver(w)
			if rnd.IntN(4) == 0 {
				oldest := last
				for _, u := range order[i+1:] {
					oldest = min(oldest, u.End)
				}
				r.advance(max(r.wm, oldest-minute))
			}
		}
		r.advance(last)
		if !slices.Equal(r.rows, ref.rows) {
			t.Errorf("seed %d:\n got %+v\nwant %+v", seed, r.rows, ref.rows)
		}
		if r.fn.late != 0 {
			t.Errorf("seed %d: %d windows dropped as late, want none", seed, r.fn.late)
		}
	}

	// A window that comes after its key scored a later one is dropped.
	ref.deliver(windowCounts{End: 30 * minute, Size: minute, Actions: counts(map[event.Action]int64{event.View: 1000})})
	n := len(ref.rows)
	ref.advance(last + minute)
	if len(ref.rows) != n || ref.fn.late != 1 {
		t.Errorf("late window: %d new alerts, %d dropped; want none and 1", len(ref.rows)-n, ref.fn.late)
	}
}

// With Silence, a key that stops is scored as empty window by window as
// the watermark passes, Silence windows at most; without, not at all.
func TestScoreFnSilence(t *testing.T) {
	for _, silence := range []int64{0, 3} {
		r := newRunner(t, Config{Silence: silence})
		for _, w := range steady()[:30] {
			r.deliver(w)
			r.advance(w.End)
		}
		before := len(r.rows)
		r.advance(100 * minute)
		var ends []string
		for _, row := range r.rows[before:] {
			ends = append(ends, row.WindowEnd)
		}
		var s series
		if v, ok := r.values["series"]; ok {
			s = v.(series)
		}
		switch {
		case silence == 0 && (len(ends) != 0 || s.LastEnd != 30*minute):
			t.Errorf("no silence: alerts at %v, last end minute %d; want none and 30", ends, s.LastEnd/minute)
		case silence > 0 && (len(ends) == 0 || ends[0] != "1970-01-01T00:31:00Z" || s.LastEnd != (30+silence)*minute || r.timer != nil):
			t.Errorf("silence %d: alerts at %v, last end minute %d, timer %v; want the first at 00:31, %d, none",
				silence, ends, s.LastEnd/minute, r.timer, 30+silence)
		}
	}
}
