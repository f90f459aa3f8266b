package alerts

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/pane"
)

func init() {
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, windowCounts, func(Row), error](&scoreFn{})
	register.Emitter1[Row]()
	register.DoFn3x0[string, func(*windowCounts) bool, func(Row)](&replayFn{})
	register.Iter1[windowCounts]()
}

// scoreFn scores each key's windows in event-time order. Only Value and
// Bag state and event-time timers, so that it runs on Flink too.
//
// Windows wait in Pending until the watermark passes their end. One timer
// per key is due at the earliest end among them (or at the next window
// to score as empty, with Config.Silence); Due remembers when, because
// setting a timer replaces the one before. Scoring every pending window
// that has ended, oldest first, also makes the order in which a runner
// fires timers of the same key irrelevant.
type scoreFn struct {
	Cfg Config `json:"cfg"`

	Pending state.Bag[windowCounts]
	Series  state.Value[series]
	Due     state.Value[int64]
	Fire    timers.EventTime

	emitted, late int64
}

func newScoreFn(cfg Config) *scoreFn {
	return &scoreFn{
		Cfg:     cfg,
		Pending: state.MakeBagState[windowCounts]("pending"),
		Series:  state.MakeValueState[series]("series"),
		Due:     state.MakeValueState[int64]("due"),
		Fire:    timers.InEventTime("score"),
	}
}

func (fn *scoreFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, w windowCounts, _ func(Row)) error {
	s, _, err := fn.Series.Read(sp)
	if err != nil {
		return fmt.Errorf("alerts: read baseline of %s: %w", key, err)
	}
	if s.Events.N > 0 && w.End <= s.LastEnd {
		fn.late++
		return nil
	}
	if err := fn.Pending.Add(sp, w); err != nil {
		return fmt.Errorf("alerts: buffer window of %s: %w", key, err)
	}
	due, ok, err := fn.Due.Read(sp)
	if err != nil {
		return fmt.Errorf("alerts: read timer of %s: %w", key, err)
	}
	if !ok || w.End < due {
		return fn.arm(sp, tp, w.End)
	}
	return nil
}

func (fn *scoreFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(Row)) error {
	now := int64(ts)
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return fmt.Errorf("alerts: read windows of %s: %w", key, err)
	}
	s, _, err := fn.Series.Read(sp)
	if err != nil {
		return fmt.Errorf("alerts: read baseline of %s: %w", key, err)
	}
	// Stable, so that of two panes of one window the first is kept.
	slices.SortStableFunc(pending, func(a, b windowCounts) int { return cmp.Compare(a.End, b.End) })
	report := func(fs []finding) { fn.emitted += report(key, fn.Cfg.Z, fs, emit) }
	var rest []windowCounts
	for _, w := range pending {
		switch {
		case w.End > now:
			rest = append(rest, w)
		case s.Events.N > 0 && w.End <= s.LastEnd:
			fn.late++
		default:
			report(s.advance(&fn.Cfg, w.End, w.Size, w.Actions))
		}
	}
	for s.silent(&fn.Cfg) && s.LastEnd+s.Size <= now {
		report(s.hush(&fn.Cfg))
	}
	if err := fn.Series.Write(sp, s); err != nil {
		return fmt.Errorf("alerts: write baseline of %s: %w", key, err)
	}
	if len(rest) != len(pending) {
		if err := fn.Pending.Clear(sp); err != nil {
			return fmt.Errorf("alerts: clear windows of %s: %w", key, err)
		}
		for _, w := range rest {
			if err := fn.Pending.Add(sp, w); err != nil {
				return fmt.Errorf("alerts: buffer window of %s: %w", key, err)
			}
		}
	}
	// rest is sorted, so its first window is the earliest.
	next, ok := int64(0), false
	if len(rest) > 0 {
		next, ok = rest[0].End, true
	}
	if s.silent(&fn.Cfg) && (!ok || s.LastEnd+s.Size < next) {
		next, ok = s.LastEnd+s.Size, true
	}
	if !ok {
		return fn.Due.Clear(sp)
	}
	return fn.arm(sp, tp, next)
}

// report emits the findings of key as rows and returns how many.
func report(key string, z float64, fs []finding, emit func(Row)) int64 {
	scope, name, _ := strings.Cut(key, "|")
	for _, f := range fs {
		emit(Row{
			WindowEnd: pane.FormatMillis(f.End), Scope: scope, Key: name, Metric: f.Metric,
			Value: f.Value, Baseline: f.Baseline, Zscore: f.Z, Severity: severity(f.Z, z),
		})
	}
	return int64(len(fs))
}

// replayFn scores all windows of one key of a bounded input at once, in
// window order; for a given set of windows it gives what scoreFn gives.
type replayFn struct {
	Cfg Config `json:"cfg"`

	emitted int64
}

func (fn *replayFn) ProcessElement(key string, windows func(*windowCounts) bool, emit func(Row)) {
	var all []windowCounts
	var w windowCounts
	for windows(&w) {
		all = append(all, w)
		w = windowCounts{}
	}
	// Stable, so that of two panes of one window the first is kept.
	slices.SortStableFunc(all, func(a, b windowCounts) int { return cmp.Compare(a.End, b.End) })
	var s series
	for _, w := range all {
		if s.Events.N > 0 && w.End <= s.LastEnd {
			continue
		}
		fn.emitted += report(key, fn.Cfg.Z, s.advance(&fn.Cfg, w.End, w.Size, w.Actions), emit)
	}
}

func (fn *replayFn) FinishBundle(ctx context.Context, _ func(Row)) {
	counter.Flush(ctx, CounterEmitted, &fn.emitted)
}

// arm sets the key's timer to fire at end.
func (fn *scoreFn) arm(sp state.Provider, tp timers.Provider, end int64) error {
	fn.Fire.Set(tp, time.UnixMilli(end))
	if err := fn.Due.Write(sp, end); err != nil {
		return fmt.Errorf("alerts: write timer: %w", err)
	}
	return nil
}

// FinishBundle takes the emitter only because Beam requires a FinishBundle
// with parameters to mirror ProcessElement's emitters.
func (fn *scoreFn) FinishBundle(ctx context.Context, _ func(Row)) {
	counter.Flush(ctx, CounterEmitted, &fn.emitted)
	counter.Flush(ctx, CounterLateWindows, &fn.late)
}
