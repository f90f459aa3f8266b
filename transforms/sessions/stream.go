package sessions

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/pane"
)

func init() {
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, hit, func(Row), error](&streamFn{})
}

// MaxOpenHits bounds the hits Stream keeps per user for the user's open
// sessions (about 13 bytes each encoded, so about 1.3 MB of state per
// key). Only a user active without a gap for that many events, a bot,
// reaches it; the further hits of its open session are dropped from
// user_sessions (their events still count everywhere else) and counted
// (CounterHitsDropped), until the session closes.
const MaxOpenHits = 100_000

// CounterHitsDropped counts hits Stream dropped at MaxOpenHits, in the
// "pulse" namespace.
const CounterHitsDropped = "session_hits_dropped"

// Stream computes user_sessions from an unbounded stream without session
// windows, which prism v2.77 merges wrongly under a moving watermark (see
// the package documentation): a stateful DoFn per user keeps the hits of
// the user's open sessions in Bag state and one event-time timer at the
// earliest time a session could close (its last event plus gap). When the
// timer fires, the watermark has passed that time: every session whose
// last event is at least gap before it is complete, and is emitted as one
// final ON_TIME row; the other hits stay, and the timer moves on. A hit
// that arrives after its session was emitted starts a session of its own.
// At most MaxOpenHits hits are held per user. It uses Bag and Value state
// and one event-time timer family, so it runs on Flink.
func Stream(s beam.Scope, gap time.Duration, events beam.PCollection) beam.PCollection {
	return StreamWithLimit(s, gap, MaxOpenHits, events)
}

// StreamWithLimit is Stream holding at most maxHits hits per user.
func StreamWithLimit(s beam.Scope, gap time.Duration, maxHits int, events beam.PCollection) beam.PCollection {
	gap = gap.Truncate(time.Millisecond)
	if gap <= 0 {
		panic(fmt.Sprintf("sessions: gap %v is not a positive number of milliseconds", gap))
	}
	if maxHits < 1 {
		panic(fmt.Sprintf("sessions: maxHits %d is not positive", maxHits))
	}
	s = s.Scope("SessionsStream")
	fn := &streamFn{
		GapMillis: gap.Milliseconds(),
		MaxHits:   int64(maxHits),
		Hits:      state.MakeBagState[hit]("hits"),
		Held:      state.MakeValueState[int64]("held"),
		Due:       state.MakeValueState[int64]("due"),
		Close:     timers.InEventTime("close"),
	}
	return beam.ParDo(s, fn, beam.ParDo(s, toHit, events))
}

type streamFn struct {
	GapMillis int64 `json:"gap_millis"`
	MaxHits   int64 `json:"max_hits"`

	Hits state.Bag[hit]
	// Held counts the hits in Hits, so that the cap needs no bag read.
	Held  state.Value[int64]
	Due   state.Value[int64]
	Close timers.EventTime

	fold    foldFn
	dropped int64
}

func (fn *streamFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, user string, h hit, _ func(Row)) error {
	held, _, err := fn.Held.Read(sp)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if held >= fn.MaxHits {
		fn.dropped++
		return nil
	}
	if err := fn.Hits.Add(sp, h); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if err := fn.Held.Write(sp, held+1); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	due, ok, err := fn.Due.Read(sp)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if at := h.Time + fn.GapMillis; !ok || at < due {
		return fn.arm(sp, tp, at)
	}
	return nil
}

// FinishBundle adds the bundle's dropped hits to the counter once. Beam
// requires it to take ProcessElement's emitters.
func (fn *streamFn) FinishBundle(ctx context.Context, _ func(Row)) {
	counter.Flush(ctx, CounterHitsDropped, &fn.dropped)
}

func (fn *streamFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, user string, _ timers.Context, emit func(Row)) error {
	now := int64(ts)
	hits, _, err := fn.Hits.Read(sp)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.Time, b.Time) })
	start := 0
	for i := 1; i <= len(hits); i++ {
		if i < len(hits) && hits[i].Time-hits[i-1].Time < fn.GapMillis {
			continue
		}
		if hits[i-1].Time+fn.GapMillis > now {
			break // this session may still grow, and so may the later ones
		}
		r := fn.fold.row(user, hits[start:i])
		r.WindowStart = pane.FormatMillis(hits[start].Time)
		r.WindowEnd = pane.FormatMillis(hits[i-1].Time + fn.GapMillis)
		r.PaneTiming, r.PaneIndex, r.IsFinal = pane.OnTime, 0, true
		emit(r)
		start = i
	}
	if start == 0 {
		// Nothing closed: the first session grew since the timer was set.
		if len(hits) == 0 {
			return fn.Due.Clear(sp)
		}
		return fn.rearm(sp, tp, hits)
	}
	if err := fn.Hits.Clear(sp); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if n := int64(len(hits) - start); n == 0 {
		err = fn.Held.Clear(sp)
	} else {
		err = fn.Held.Write(sp, n)
	}
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	rest := hits[start:]
	for _, h := range rest {
		if err := fn.Hits.Add(sp, h); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
	}
	if len(rest) == 0 {
		return fn.Due.Clear(sp)
	}
	return fn.rearm(sp, tp, rest)
}

// rearm sets the timer to when the first open session of hits (sorted)
// can close: its last event plus the gap.
func (fn *streamFn) rearm(sp state.Provider, tp timers.Provider, hits []hit) error {
	i := 1
	for i < len(hits) && hits[i].Time-hits[i-1].Time < fn.GapMillis {
		i++
	}
	return fn.arm(sp, tp, hits[i-1].Time+fn.GapMillis)
}

func (fn *streamFn) arm(sp state.Provider, tp timers.Provider, at int64) error {
	fn.Close.Set(tp, time.UnixMilli(at))
	if err := fn.Due.Write(sp, at); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	return nil
}
