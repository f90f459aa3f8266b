package sessions_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/sessions"
)

// TestStreamSplitsAtTheGap streams one user's events, some out of order
// and with the watermark moving between them, and requires the sessions
// the gap rule gives: 29m59.999s apart stay together, exactly 30m apart
// split, and a session is emitted once, complete.
func TestStreamSplitsAtTheGap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	line := func(id, user, action string, d time.Duration) string {
		return fmt.Sprintf(`{"event_id":%q,"user_id":%q,"item_id":"i-%s","action":%q,"event_time":%d}`, id, user, id, action, at(d))
	}
	const gap = 30 * time.Minute
	ts := teststream.NewConfig()
	must(t, ts.AdvanceWatermark(at(0)))
	must(t, ts.AddElements(at(0), line("a1", "u", "view", 0), line("a3", "u", "cart", 20*time.Minute)))
	// Out of order: a2 is older than a3 but arrives later.
	must(t, ts.AddElements(at(20*time.Minute), line("a2", "u", "view", 10*time.Minute)))
	// 29m59.999s after a3: the same session.
	must(t, ts.AddElements(at(21*time.Minute), line("a4", "u", "purchase", 49*time.Minute+59*time.Second+999*time.Millisecond)))
	must(t, ts.AdvanceWatermark(at(60*time.Minute)))
	// Exactly the gap after a4: a new session.
	must(t, ts.AddElements(at(60*time.Minute), line("b1", "u", "view", 79*time.Minute+59*time.Second+999*time.Millisecond)))
	must(t, ts.AddElements(at(60*time.Minute), line("c1", "v", "view", 61*time.Minute)))
	must(t, ts.AdvanceWatermark(at(3*time.Hour)))
	must(t, ts.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, ts))
	dir := t.TempDir()
	jsonl.Write(s, dir, sessions.Table, sessions.Stream(s, gap, events))
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	rows, err := jsonl.Read[sessions.Row](dir + "/" + sessions.Table)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s..%s events=%d views=%d carts=%d purchases=%d items=%d converted=%v %s final=%v",
			r.UserID, r.SessionStart, r.SessionEnd, r.Events, r.Views, r.Carts, r.Purchases, r.Items, r.Converted, r.PaneTiming, r.IsFinal))
	}
	slices.Sort(got)
	want := []string{
		"u 2026-01-01T00:00:00Z..2026-01-01T00:49:59.999Z events=4 views=2 carts=1 purchases=1 items=4 converted=true ON_TIME final=true",
		"u 2026-01-01T01:19:59.999Z..2026-01-01T01:19:59.999Z events=1 views=1 carts=0 purchases=0 items=1 converted=false ON_TIME final=true",
		"v 2026-01-01T01:01:00Z..2026-01-01T01:01:00Z events=1 views=1 carts=0 purchases=0 items=1 converted=false ON_TIME final=true",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sessions:\n%s\nwant\n%s", fmt.Sprint(got), fmt.Sprint(want))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
