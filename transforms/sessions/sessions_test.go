package sessions_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/sessions"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// base is the time every case's offsets count from.
var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const gap = 30 * time.Minute

// ev is one event of a case: an offset from base, an action and an item.
type ev struct {
	at     time.Duration
	action event.Action
	item   string
}

// session is one expected row of a case.
type session struct {
	first, last                            time.Duration
	events, views, carts, purchases, items int64
	converted                              bool
}

func views(ats ...time.Duration) []ev {
	out := make([]ev, len(ats))
	for i, at := range ats {
		out[i] = ev{at, event.View, "i1"}
	}
	return out
}

// viewSession is a session of n views of one item.
func viewSession(first, last time.Duration, n int64) session {
	return session{first: first, last: last, events: n, views: n, items: 1}
}

var cases = []struct {
	name   string
	events []ev
	want   []session
}{
	// Beam's session window of an event at t is [t, t+gap), half-open;
	// windows merge when they overlap. So consecutive events d apart share
	// a session iff d < gap.
	{"29m59s apart: one session", views(0, 29*time.Minute+59*time.Second),
		[]session{viewSession(0, 29*time.Minute+59*time.Second, 2)}},
	{"1ms under the gap: one session", views(0, gap-time.Millisecond),
		[]session{viewSession(0, gap-time.Millisecond, 2)}},
	{"exactly the gap: the windows only touch, two sessions", views(0, gap),
		[]session{viewSession(0, 0, 1), viewSession(gap, gap, 1)}},
	{"1ms over the gap: two sessions", views(0, gap+time.Millisecond),
		[]session{viewSession(0, 0, 1), viewSession(gap+time.Millisecond, gap+time.Millisecond, 1)}},
	{"a chain of short gaps outlasts the gap: one session", views(0, 20*time.Minute, 40*time.Minute, 60*time.Minute, 79*time.Minute),
		[]session{viewSession(0, 79*time.Minute, 5)}},
	{"out of order, with a tie and a split in the middle", views(85*time.Minute, 10*time.Minute, 0, 10*time.Minute, 60*time.Minute),
		[]session{viewSession(0, 10*time.Minute, 3), viewSession(60*time.Minute, 85*time.Minute, 2)}},
	{"counts, distinct items and conversion", []ev{
		{0, event.View, "a"}, {time.Minute, event.View, "b"}, {2 * time.Minute, event.View, "a"},
		{3 * time.Minute, event.Cart, "a"}, {4 * time.Minute, event.Favorite, "c"}, {5 * time.Minute, event.Purchase, "a"},
		{6 * time.Minute, event.Payment, "a"},
		// A later session with a cart and a payment but no purchase.
		{2 * time.Hour, event.View, "d"}, {2*time.Hour + time.Minute, event.Cart, "d"}, {2*time.Hour + 2*time.Minute, event.Payment, "d"},
	}, []session{
		{first: 0, last: 6 * time.Minute, events: 7, views: 3, carts: 1, purchases: 1, items: 3, converted: true},
		{first: 2 * time.Hour, last: 2*time.Hour + 2*time.Minute, events: 3, views: 1, carts: 1, items: 1},
	}},
	{"items are counted by id, not by action", []ev{
		{0, event.Purchase, "x"}, {time.Second, event.Purchase, "x"}, {2 * time.Second, event.Cart, "y"},
	}, []session{{first: 0, last: 2 * time.Second, events: 3, carts: 1, purchases: 2, items: 2, converted: true}}},
}

// TestSessions runs every case, one user each, through one pipeline and
// expects exactly the listed rows, each the final ON_TIME pane of a
// window [first, last+gap).
func TestSessions(t *testing.T) {
	var lines []string
	var want []sessions.Row
	for i, c := range cases {
		user := "u" + string(rune('a'+i))
		t.Logf("user %s: %s", user, c.name)
		for j, e := range c.events {
			ts := base.Add(e.at).UnixMilli()
			x := event.Event{EventID: fmt.Sprint(user, "-", j), UserID: user, ItemID: e.item, Action: e.action, EventTime: ts}
			lines = append(lines, string(x.AppendJSON(nil)))
		}
		for _, w := range c.want {
			want = append(want, row(user, w, gap))
		}
	}
	p, s := beam.NewPipelineWithRoot()
	rows := sessions.Build(s, 0, nil, events(s, lines))
	passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), rows), toAny(want)...)
	ptest.RunAndValidate(t, p)
}

// TestGapIsAParameter checks that the gap, not 30 minutes, splits.
func TestGapIsAParameter(t *testing.T) {
	const small = 5 * time.Minute
	var lines []string
	for i, at := range []time.Duration{0, small - time.Millisecond, 2*small - 2*time.Millisecond, 3*small - 2*time.Millisecond} {
		e := event.Event{EventID: fmt.Sprint("g", i), UserID: "g", ItemID: "i1", Action: event.View, EventTime: base.Add(at).UnixMilli()}
		lines = append(lines, string(e.AppendJSON(nil)))
	}
	want := []sessions.Row{
		row("g", viewSession(0, 2*small-2*time.Millisecond, 3), small),
		row("g", viewSession(3*small-2*time.Millisecond, 3*small-2*time.Millisecond, 1), small),
	}
	p, s := beam.NewPipelineWithRoot()
	rows := sessions.Build(s, small, nil, events(s, lines))
	passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), rows), toAny(want)...)
	ptest.RunAndValidate(t, p)
}

func TestBuildRejectsBadGaps(t *testing.T) {
	for _, g := range []time.Duration{-time.Minute, time.Microsecond} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "gap") {
					t.Errorf("Build(gap %v) recovered %v, want a panic about the gap", g, r)
				}
			}()
			_, s := beam.NewPipelineWithRoot()
			sessions.Build(s, g, nil, beam.Create(s, event.Event{}))
		}()
	}
}

// events parses JSON lines as the pipelines do, giving timestamped events.
func events(s beam.Scope, lines []string) beam.PCollection {
	evs, _ := parse.Lines(s, "test", beam.CreateList(s, lines))
	return evs
}

// row is the row expected for session w of user with the given gap.
func row(user string, w session, gap time.Duration) sessions.Row {
	first, last := base.Add(w.first).UnixMilli(), base.Add(w.last).UnixMilli()
	return sessions.Row{
		UserID: user, SessionStart: pane.FormatMillis(first), SessionEnd: pane.FormatMillis(last),
		Events: w.events, Views: w.views, Carts: w.carts, Purchases: w.purchases, Items: w.items, Converted: w.converted,
		WindowStart: pane.FormatMillis(first), WindowEnd: pane.FormatMillis(last + gap.Milliseconds()),
		PaneTiming: pane.OnTime, PaneIndex: 0, IsFinal: true,
	}
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
