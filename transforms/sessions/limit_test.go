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

// TestStreamCapsHeldHits streams a user who never pauses (a bot) past a cap
// of 3 held hits: the open session keeps its first 3 hits, the other 2 are
// counted as dropped, and once the session closes the user's next session
// is held from zero again.
func TestStreamCapsHeldHits(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	line := func(id string, d time.Duration) string {
		return fmt.Sprintf(`{"event_id":%q,"user_id":"bot","item_id":"i-%s","action":"view","event_time":%d}`, id, id, at(d))
	}
	ts := teststream.NewConfig()
	must(t, ts.AdvanceWatermark(at(0)))
	must(t, ts.AddElements(at(0), line("a1", 0), line("a2", time.Minute), line("a3", 2*time.Minute),
		line("a4", 3*time.Minute), line("a5", 4*time.Minute)))
	must(t, ts.AdvanceWatermark(at(2*time.Hour)))
	must(t, ts.AddElements(at(2*time.Hour), line("b1", 2*time.Hour+time.Minute), line("b2", 2*time.Hour+2*time.Minute)))
	must(t, ts.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, ts))
	dir := t.TempDir()
	jsonl.Write(s, dir, sessions.Table, sessions.StreamWithLimit(s, 30*time.Minute, 3, events))
	res, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := jsonl.Read[sessions.Row](dir + "/" + sessions.Table)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s events=%d", r.UserID, r.SessionStart, r.Events))
	}
	slices.Sort(got)
	want := []string{"bot 2026-01-01T00:00:00Z events=3", "bot 2026-01-01T02:01:00Z events=2"}
	if !slices.Equal(got, want) {
		t.Errorf("sessions = %q, want %q", got, want)
	}
	var dropped int64
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Name == sessions.CounterHitsDropped {
			dropped += c.Committed
		}
	}
	if dropped != 2 {
		t.Errorf("%s = %d, want 2", sessions.CounterHitsDropped, dropped)
	}
}
