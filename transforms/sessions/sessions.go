// Package sessions computes the user_sessions table: each user's activity
// split into sessions by inactivity gaps, with counts and conversion per
// session.
//
// # Session semantics
//
// Beam's session windows give an event at time t the window [t, t+gap),
// half-open, and merge windows that overlap. Two consecutive events of a
// user d apart therefore share a session when d < gap and start separate
// sessions when d >= gap: at d == gap the windows only touch, and touching
// half-open intervals do not overlap. This is the Java SDK's rule
// (IntervalWindow.isDisjoint), which the Flink and Dataflow runners use.
// A session's window is [first event, last event + gap).
//
// Prism (v2.77.0) also merges windows that touch, so on prism events
// exactly gap apart would share a session. Build does not depend on the
// runner for this: the DoFn after the GroupByKey re-splits a merged window
// at gaps >= gap, so the table means the same on every runner. Where it
// re-splits, each resulting row reports its own session window rather than
// the runner's merged one; elsewhere the window columns are the runner's.
//
// # Panes
//
// Without options Build uses Beam's default trigger and no allowed
// lateness, so each session has exactly one pane: ON_TIME, index 0, final.
// Prism (v2.77.0) keeps pane state per pre-merge window and gives a merged
// session window the zero pane (EARLY, index 0, not first, not last),
// which no runner can mean: index 0 is the first pane. The fold reads that
// impossible pane as "no pane information" and reports the one pane the
// default trigger can fire, or UNKNOWN when Build was given options.
//
// Prism (v2.77.0) merges session windows only within one firing: when the
// watermark passes the end of an event's own window [t, t+gap) before the
// session's later events arrive, it fires that window alone (merging
// windows under triggers is apache/beam#31438), and it rejects count and
// processing-time triggers on session windows. Build with options is
// therefore right on runners that merge windows (Flink, Dataflow) only;
// Stream sessionises an unbounded input without session windows, in a
// stateful DoFn, the same way on every runner, and is what the monitor
// uses for streams. Build without options groups each user's events in the
// global window and splits them at the gaps, for bounded input.
//
// # Why not CombinePerKey
//
// The Go SDK's combine nodes drop the pane of their input, and session
// windows merge, so rollup's pre-aggregation per bucket cannot apply
// either. Each event is mapped to a hit of about 15 bytes (time, action,
// item hash) keyed by user before windowing, and a GroupByKey (which keeps
// panes) is followed by a DoFn that folds the hits into rows.
package sessions

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	metro "github.com/dgryski/go-metro"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/parts"
)

// Table is the name of the sessions table, as a folder of the file sink
// and a table in BigQuery.
const Table = "user_sessions"

// DefaultGap is the inactivity that ends a session when Build is given a
// zero gap.
const DefaultGap = 30 * time.Minute

// Row is one row of user_sessions: one session of one user, in one pane.
// Times are RFC 3339 UTC (pane.FormatMillis).
type Row struct {
	UserID string `json:"user_id" bigquery:"user_id"`
	// SessionStart and SessionEnd are the times of the session's first and
	// last events.
	SessionStart string `json:"session_start" bigquery:"session_start"`
	SessionEnd   string `json:"session_end" bigquery:"session_end"`
	Events       int64  `json:"events" bigquery:"events"`
	Views        int64  `json:"views" bigquery:"views"`
	Carts        int64  `json:"carts" bigquery:"carts"`
	Purchases    int64  `json:"purchases" bigquery:"purchases"`
	// Items is the number of distinct item ids in the session.
	Items int64 `json:"items" bigquery:"items"`
	// Converted reports whether the session has a purchase event.
	Converted bool `json:"converted" bigquery:"converted"`

	// WindowStart and WindowEnd bound the session window: normally
	// [SessionStart, SessionEnd + gap).
	WindowStart string `json:"window_start" bigquery:"window_start"`
	WindowEnd   string `json:"window_end" bigquery:"window_end"`
	PaneTiming  string `json:"pane_timing" bigquery:"pane_timing"`
	PaneIndex   int64  `json:"pane_index" bigquery:"pane_index"`
	IsFinal     bool   `json:"is_final" bigquery:"is_final"`
}

func init() {
	beam.RegisterType(reflect.TypeOf(Row{}))
	beam.RegisterCoder(reflect.TypeOf(hit{}), encodeHit, decodeHit)
	register.Function1x1(encodeHit)
	register.Function1x2(decodeHit)
	beam.RegisterCoder(reflect.TypeOf(hitBatch{}), encodeHits, decodeHits)
	register.Function1x1(encodeHits)
	register.Function1x2(decodeHits)
	register.Function1x2(toHit)
	register.Function1x2(toHits)
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, hitBatch)](&liftFn{})
	register.Emitter3[beam.EventTime, string, hitBatch]()
	register.DoFn5x0[beam.PaneInfo, beam.Window, string, func(*hitBatch) bool, func(Row)](&foldFn{})
	register.Iter1[hitBatch]()
	register.Emitter1[Row]()
}

// Build computes user_sessions from events, a PCollection<event.Event> in
// the global window timestamped by event time, and returns a
// PCollection<Row> with one row per user, session and pane. gap is the
// inactivity that ends a session (DefaultGap if zero; it is truncated to
// milliseconds, Beam's time resolution). opts are the trigger, accumulation
// mode and allowed lateness of the session windows; none means one final
// ON_TIME pane per session.
//
// Build panics if gap is negative or under a millisecond, as Beam's
// construction functions do for invalid pipelines.
func Build(s beam.Scope, gap time.Duration, opts []beam.WindowIntoOption, events ...beam.PCollection) beam.PCollection {
	if gap == 0 {
		gap = DefaultGap
	}
	gap = gap.Truncate(time.Millisecond)
	if gap <= 0 {
		panic(fmt.Sprintf("sessions: gap %v is not a positive number of milliseconds", gap))
	}
	s = s.Scope("Sessions")
	fold := &foldFn{GapMillis: gap.Milliseconds(), OnePane: len(opts) == 0}
	if fold.OnePane {
		// Without triggers, the input is a bounded replay: grouping each
		// user's hits in the global window and splitting them at the gaps
		// gives the same sessions, and prism merges session windows so
		// slowly (about 0.6 ms an event) that this is two orders faster.
		// A bundle's hits of one user travel as one element.
		lifted := parts.Apply(s, events, func(s beam.Scope, events beam.PCollection) beam.PCollection {
			return beam.ParDo(s, &liftFn{}, events)
		})
		return beam.ParDo(s, fold, beam.GroupByKey(s, lifted))
	}
	one := beam.ParDo(s, toHits, beam.Flatten(s, events...))
	windowed := beam.WindowInto(s, window.NewSessions(gap), one, opts...)
	return beam.ParDo(s, fold, beam.GroupByKey(s, windowed))
}

// hit is what a session needs of an event: the shuffle carries these
// instead of whole events.
type hit struct {
	Time   int64  // Unix milliseconds: the element timestamp
	Item   uint64 // hash of the item id
	Action event.Action
}

// userHits are hits of one user.
type userHits struct {
	User string
	Hits []hit
}

// hitBatch holds hits of users: a bundle's of one shard's users in the
// global window, or one event's in session windows, which merge per event.
type hitBatch struct {
	Users []userHits
}

// itemSeed seeds the item hash. With 64-bit hashes a collision within one
// session needs billions of items, so Items is exact in practice.
const itemSeed = 0x5e55

// toHit keys e by user. It takes the time from the event, not the element
// timestamp, which a bounded de-duplication coarsens to its bucket.
func toHit(e event.Event) (string, hit) {
	return e.UserID, hitOf(&e)
}

// toHits is toHit for a GroupByKey: a one-hit batch.
func toHits(e event.Event) (string, hitBatch) {
	return e.UserID, hitBatch{Users: []userHits{{User: e.UserID, Hits: []hit{hitOf(&e)}}}}
}

func hitOf(e *event.Event) hit {
	return hit{Time: e.EventTime, Item: hashItem(e.ItemID), Action: e.Action}
}

func hashItem(id string) uint64 {
	return metro.Hash64(unsafe.Slice(unsafe.StringData(id), len(id)), itemSeed)
}

// maxKeep bounds the scratch a foldFn keeps between elements, so that one
// huge session does not pin its memory for the life of the worker.
const maxKeep = 1 << 14

// foldFn folds the hits of one key, session window and pane into rows:
// of one user in session windows, of one shard's users in a replay.
type foldFn struct {
	GapMillis int64 `json:"gap_millis"`
	// OnePane says the windows have the default trigger and no allowed
	// lateness, so the only pane is the final ON_TIME one.
	OnePane bool `json:"one_pane"`

	users map[string][]hit
	items map[uint64]struct{}
}

func (fn *foldFn) ProcessElement(p beam.PaneInfo, w beam.Window, _ string, iter func(*hitBatch) bool, emit func(Row)) {
	if fn.users == nil {
		fn.users = make(map[string][]hit)
	}
	var b hitBatch
	for iter(&b) {
		for _, u := range b.Users {
			fn.users[u.User] = append(fn.users[u.User], u.Hits...)
		}
	}
	info := fn.paneOf(w, p)
	for user, hits := range fn.users {
		fn.fold(info, user, hits, emit)
	}
	clear(fn.users)
}

// fold splits one user's hits at the gaps into rows.
func (fn *foldFn) fold(info pane.Info, user string, hits []hit, emit func(Row)) {
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.Time, b.Time) })
	split := false
	start := 0
	for i := 1; i <= len(hits); i++ {
		if i < len(hits) && hits[i].Time-hits[i-1].Time < fn.GapMillis {
			continue
		}
		if i < len(hits) || fn.OnePane {
			// A group holds several sessions in the global window, or on a
			// runner that merges touching windows.
			split = true
		}
		r := fn.row(user, hits[start:i])
		if split {
			r.WindowStart = pane.FormatMillis(hits[start].Time)
			r.WindowEnd = pane.FormatMillis(hits[i-1].Time + fn.GapMillis)
		} else {
			r.WindowStart, r.WindowEnd = info.WindowStart, info.WindowEnd
		}
		r.PaneTiming, r.PaneIndex, r.IsFinal = info.Timing, info.Index, info.IsFinal
		emit(r)
		start = i
	}
}

// paneOf describes window w and pane p, standing in for the impossible pane
// that prism gives merged windows (see the package documentation).
func (fn *foldFn) paneOf(w beam.Window, p beam.PaneInfo) pane.Info {
	info := pane.Of(w, p)
	if p.Index == 0 && (!p.IsFirst || fn.OnePane) {
		if fn.OnePane {
			info.Timing, info.IsFinal = pane.OnTime, true
		} else {
			info.Timing, info.IsFinal = pane.Unknown, false
		}
	}
	return info
}

// row summarises one session's hits, sorted by time.
func (fn *foldFn) row(user string, hits []hit) Row {
	r := Row{
		UserID:       user,
		SessionStart: pane.FormatMillis(hits[0].Time),
		SessionEnd:   pane.FormatMillis(hits[len(hits)-1].Time),
		Events:       int64(len(hits)),
	}
	if fn.items == nil {
		fn.items = make(map[uint64]struct{})
	}
	clear(fn.items)
	for _, h := range hits {
		switch h.Action {
		case event.View:
			r.Views++
		case event.Cart:
			r.Carts++
		case event.Purchase:
			r.Purchases++
		}
		fn.items[h.Item] = struct{}{}
	}
	r.Items = int64(len(fn.items))
	r.Converted = r.Purchases > 0
	if len(fn.items) > maxKeep {
		fn.items = nil // clear keeps the buckets; drop a huge map instead
	}
	return r
}
