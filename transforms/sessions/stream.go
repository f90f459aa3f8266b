package sessions

import (
	"cmp"
	"context"
	"encoding/binary"
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
		Meta:      state.MakeValueState[[]byte]("meta"),
		Close:     timers.InEventTime("close"),
	}
	return beam.ParDo(s, fn, beam.ParDo(s, toHit, events))
}

type streamFn struct {
	GapMillis int64 `json:"gap_millis"`
	MaxHits   int64 `json:"max_hits"`

	Hits state.Bag[hit]
	// Meta holds the count of hits in Hits, so that the cap needs no bag
	// read, and the time the timer is set for: one value, since each
	// state call is a round trip to the runner.
	Meta  state.Value[[]byte]
	Close timers.EventTime

	fold    foldFn
	dropped int64
}

func (fn *streamFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, user string, h hit, _ func(Row)) error {
	raw, _, err := fn.Meta.Read(sp)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return err
	}
	if m.held >= fn.MaxHits {
		fn.dropped++
		return nil
	}
	if err := fn.Hits.Add(sp, h); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	m.held++
	if at := h.Time + fn.GapMillis; !m.armed || at < m.due {
		fn.arm(tp, &m, at)
	}
	return fn.Meta.Write(sp, m.encode())
}

// meta is streamFn's Meta: the hits held and the timer's time, if armed.
type meta struct {
	held, due int64
	armed     bool
}

func (m meta) encode() []byte {
	b := binary.AppendVarint(nil, m.held)
	if m.armed {
		b = binary.AppendVarint(b, m.due)
	}
	return b
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if len(b) == 0 {
		return m, nil
	}
	var n int
	if m.held, n = binary.Varint(b); n <= 0 {
		return m, fmt.Errorf("sessions: corrupt state")
	}
	if b = b[n:]; len(b) > 0 {
		if m.due, n = binary.Varint(b); n != len(b) {
			return m, fmt.Errorf("sessions: corrupt state")
		}
		m.armed = true
	}
	return m, nil
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
	// With start 0 nothing closed (the first session grew since the timer
	// was set), and the bag stays as it is.
	rest := hits[start:]
	if start > 0 {
		if err := fn.Hits.Clear(sp); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		for _, h := range rest {
			if err := fn.Hits.Add(sp, h); err != nil {
				return fmt.Errorf("sessions: %w", err)
			}
		}
	}
	if len(rest) == 0 {
		return fn.Meta.Clear(sp)
	}
	m := meta{held: int64(len(rest))}
	fn.rearm(tp, &m, rest)
	return fn.Meta.Write(sp, m.encode())
}

// rearm sets the timer to when the first open session of hits (sorted)
// can close: its last event plus the gap.
func (fn *streamFn) rearm(tp timers.Provider, m *meta, hits []hit) {
	i := 1
	for i < len(hits) && hits[i].Time-hits[i-1].Time < fn.GapMillis {
		i++
	}
	fn.arm(tp, m, hits[i-1].Time+fn.GapMillis)
}

func (fn *streamFn) arm(tp timers.Provider, m *meta, at int64) {
	fn.Close.Set(tp, time.UnixMilli(at))
	m.due, m.armed = at, true
}
