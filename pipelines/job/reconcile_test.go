package job_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/late"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/pseudo"
)

// TestStreamingCountersReconcileWithTheGenerator runs the monitor job in
// streaming mode (state-and-timer de-duplication, the late guard, streaming
// triggers) on a generated stream with 10% malformed, 5% duplicated and 2%
// late lines, plus one payload over the 64 KiB limit, and requires the
// counters to equal what the generator says it injected: read = lines,
// dead-lettered = malformed + the oversized one, too large = 1,
// de-duplicated = duplicates; read = used + dead-lettered + de-duplicated +
// too late; and the events the item_metrics table counts (the last pane of
// each window and item) to equal used, so no event was lost or doubled
// between the counters and the table. The file source holds the watermark
// until it is read, so the generator's late events (about 2 minutes out of
// order, inside the 5 minutes of allowed lateness) are all used: too late
// must be 0 here; transforms/late's tests cover events past the lateness.
func TestStreamingCountersReconcileWithTheGenerator(t *testing.T) {
	g, err := gen.New(gen.Config{Seed: 5, Users: 2000, Items: 200, Rate: 20, Malformed: 0.10, Duplicates: 0.05, Late: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for range 3000 {
		buf, _ = g.Next(buf)
		buf = append(buf, '\n')
	}
	st := g.Stats()
	if st.Malformed < 200 || st.Duplicates < 100 || st.Late < 30 {
		t.Fatalf("generator injected too little to test: %s", st)
	}
	huge := `{"event_id":"huge","user_id":"u1","item_id":"i1","action":"comment","event_time":0,"text":"` + strings.Repeat("x", event.MaxPayload) + `"}`
	buf = append(buf, huge+"\n"...)

	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_PSEUDO_KEY", "reconcile-test-key-0123456789abcdef")
	cfg := job.Config{Pipeline: job.Monitor, Input: in, Output: filepath.Join(dir, "out"),
		Pseudonymize: pseudo.Config{KeyEnv: "PULSE_TEST_PSEUDO_KEY"}}
	cfg.Monitor.Streaming = true
	cfg.Monitor.EarlyFiring = -1 // no processing-time panes: the last pane is the whole count
	c := run(t, cfg)

	read, parsed, dead := c[parse.CounterRead], c[parse.CounterParsed], c[parse.CounterDead]
	dup, tooLate, tooLarge := c[dedup.CounterDuplicates], c[late.CounterTooLate], c[parse.CounterTooLarge]
	used := parsed - dup - tooLate
	t.Logf("generator: %s", st)
	t.Logf("counters: read %d, used %d, dead-lettered %d, de-duplicated %d, too late %d, too large %d", read, used, dead, dup, tooLate, tooLarge)
	for _, chk := range []struct {
		name      string
		got, want int64
	}{
		{"read", read, st.Lines + 1},
		{"dead-lettered", dead, st.Malformed + 1},
		{"too large", tooLarge, 1},
		{"de-duplicated", dup, st.Duplicates},
		{"too late", tooLate, 0},
		{"used", used, st.Valid - st.Duplicates},
		{"read = used + dead-lettered + de-duplicated + too late", read, used + dead + dup + tooLate},
		{"pseudonymised = parsed", c[pseudo.CounterPseudonymized], parsed},
	} {
		if chk.got != chk.want {
			t.Errorf("%s = %d, want %d", chk.name, chk.got, chk.want)
		}
	}

	rows := readRows[deadletter.Row](t, filepath.Join(cfg.Output, deadletter.Table))
	var large int
	for _, r := range rows {
		if strings.HasPrefix(r.Error, "payload too large") {
			large++
			if len(r.Raw) > deadletter.MaxRaw {
				t.Errorf("oversized payload kept %d bytes, want at most %d", len(r.Raw), deadletter.MaxRaw)
			}
		}
	}
	if int64(len(rows)) != dead+tooLate || large != 1 {
		t.Errorf("dead_letter has %d rows (%d too large), want %d (1)", len(rows), large, dead+tooLate)
	}

	type key struct{ start, item string }
	last := map[key]monitor.ItemMetrics{}
	for _, r := range readRows[monitor.ItemMetrics](t, filepath.Join(cfg.Output, monitor.TableItemMetrics)) {
		k := key{r.WindowStart, r.ItemID}
		if prev, ok := last[k]; !ok || r.PaneIndex > prev.PaneIndex {
			last[k] = r
		}
	}
	var counted int64
	for _, r := range last {
		counted += r.Events
	}
	if counted != used {
		t.Errorf("item_metrics counts %d events in the last panes, the counters say %d used", counted, used)
	}
}
