package streambench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestTrackerPairsCountsWithPublishes feeds the tracker publishes and
// query answers by hand and checks the delays it derives.
func TestTrackerPairsCountsWithPublishes(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ms := t0.UnixMilli()
	tests := []struct {
		name string
		// published: item and publish second (event time = publish time).
		published []struct {
			item string
			at   float64
		}
		// queries: began and ended seconds, and the count of item "a".
		queries []struct {
			began, ended float64
			a            int64
		}
		wantEvent   []time.Duration
		wantRow     []time.Duration
		wantVisible int64
		wantOver    int
	}{
		{
			name: "counts reveal events in publish order",
			published: []struct {
				item string
				at   float64
			}{{"a", 0}, {"a", 1}, {"a", 2}},
			queries: []struct {
				began, ended float64
				a            int64
			}{{1.5, 1.7, 1}, {3, 3.5, 3}},
			wantEvent:   []time.Duration{1500 * time.Millisecond, 1700 * time.Millisecond, 2500 * time.Millisecond},
			wantRow:     []time.Duration{1500 * time.Millisecond},
			wantVisible: 3,
		},
		{
			name: "a count above what was published before the query began is an overcount",
			published: []struct {
				item string
				at   float64
			}{{"a", 0}, {"a", 5}},
			queries: []struct {
				began, ended float64
				a            int64
			}{{1, 2, 2}, {6, 7, 2}},
			wantEvent:   []time.Duration{2 * time.Second, 2 * time.Second},
			wantRow:     []time.Duration{2 * time.Second},
			wantVisible: 2,
			wantOver:    1,
		},
		{
			name: "an event no query shows has no delay and leaves its row incomplete",
			published: []struct {
				item string
				at   float64
			}{{"a", 0}, {"a", 1}},
			queries: []struct {
				began, ended float64
				a            int64
			}{{2, 3, 1}},
			wantEvent:   []time.Duration{3 * time.Second},
			wantVisible: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker()
			for _, p := range tc.published {
				tr.Published(p.item, ms+int64(p.at*1000), time.Minute, at(p.at))
			}
			for _, q := range tc.queries {
				tr.Observe(map[rowKey]int64{{"a", ms}: q.a}, at(q.began), at(q.ended))
			}
			d := tr.Summary(t0)
			if d.Visible != tc.wantVisible || d.Overcounted != tc.wantOver {
				t.Errorf("visible %d overcounted %d, want %d and %d", d.Visible, d.Overcounted, tc.wantVisible, tc.wantOver)
			}
			if !equal(d.Event, tc.wantEvent) || !equal(d.Row, tc.wantRow) {
				t.Errorf("event delays %v row delays %v, want %v and %v", d.Event, d.Row, tc.wantEvent, tc.wantRow)
			}
		})
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQuantileNearestRank(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}, {0, 1}} {
		if got := Quantile(d, tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := Quantile(nil, 0.5); got != 0 {
		t.Errorf("Quantile of none = %v", got)
	}
}

// TestRunSmall runs the whole benchmark at a tiny size: 500 events through
// the streaming job on prism into the BigQuery emulator. It asserts that
// the measurements are consistent, not how fast anything is: every
// published event was read and shows in item_metrics, every delay is
// positive and the quantiles are ordered, and the job process was sampled.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pulse job")
	}
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "github.com/pulse-analytics/pulse/cmd/pulse").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var log bytes.Buffer
	const events = 500
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Pulse: filepath.Join(bin, "pulse"), Pipeline: "all", Rate: 250, Duration: time.Minute,
		Events: events, Poll: 200 * time.Millisecond, Sample: 200 * time.Millisecond, IdleStop: 3 * time.Second, Seed: 7, Items: 100, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.Bytes())
	}
	var out bytes.Buffer
	Print(&out, res)
	t.Logf("\n%s", out.Bytes())

	if res.Published != events {
		t.Errorf("published %d events, want %d", res.Published, events)
	}
	if res.Summary == nil {
		t.Fatalf("the job printed no summary:\n%s", log.Bytes())
	}
	if read, used := res.Summary[0], res.Summary[1]; read != events || used != events {
		t.Errorf("the job read %d and used %d events, want %d of each", read, used, events)
	}
	d := res.Delays
	if d.Published != events || d.Visible != events {
		t.Errorf("%d of %d published events showed in item_metrics, want all %d", d.Visible, d.Published, events)
	}
	if d.Complete != d.Keys || d.Keys == 0 {
		t.Errorf("%d of %d item/window rows complete", d.Complete, d.Keys)
	}
	if len(d.Event) != events || len(d.Row) != d.Keys {
		t.Errorf("%d event delays and %d row delays, want %d and %d", len(d.Event), len(d.Row), events, d.Keys)
	}
	for _, ds := range [][]time.Duration{d.Event, d.Row} {
		if len(ds) > 0 && ds[0] <= 0 {
			t.Errorf("a delay is not positive: %v", ds[0])
		}
		if p50, p99, mx := Quantile(ds, 0.5), Quantile(ds, 0.99), Quantile(ds, 1); !(p50 <= p99 && p99 <= mx) {
			t.Errorf("quantiles out of order: p50 %v p99 %v max %v", p50, p99, mx)
		}
	}
	// A row shows once its last event does: no row before its events.
	if Quantile(d.Row, 1) > Quantile(d.Event, 1) {
		t.Errorf("the slowest row (%v) is slower than the slowest event (%v)", Quantile(d.Row, 1), Quantile(d.Event, 1))
	}
	if res.Queries == 0 {
		t.Error("no query of item_metrics ran")
	}
	var peak int64
	for _, s := range res.Samples {
		peak = max(peak, s.RSS)
		if s.Read > events {
			t.Errorf("a progress line says %d events read, more than the %d published", s.Read, events)
		}
	}
	if len(res.Samples) == 0 || peak == 0 {
		t.Errorf("the pulse process's RSS was not sampled: %d samples, peak %d", len(res.Samples), peak)
	}
	if !res.Began.Before(res.PublishEnd) || res.PublishEnd.After(res.JobEnd) {
		t.Errorf("times out of order: began %v, publishing ended %v, job ended %v", res.Began, res.PublishEnd, res.JobEnd)
	}
}
