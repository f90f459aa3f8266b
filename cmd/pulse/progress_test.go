package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/progress"
)

// fakeStats returns the next snapshot of a scripted sequence per call.
type fakeStats struct {
	seq []progress.Stats
	i   int
}

func (f *fakeStats) next() progress.Stats {
	s := f.seq[min(f.i, len(f.seq)-1)]
	f.i++
	return s
}

// printLines drives a printer with ticks at the given offsets from start,
// through its run loop, and returns what it wrote.
func printLines(terminal, live bool, stats []progress.Stats, offsets ...time.Duration) string {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	f := &fakeStats{seq: stats}
	clock := start
	p := newProgressPrinter(&out, terminal, live, f.next, func() time.Time { return clock })
	ticks, done, ended := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		p.run(ticks, done)
		close(ended)
	}()
	for _, d := range offsets {
		ticks <- start.Add(d) // unbuffered: the previous tick is fully printed
	}
	// The run ends 1 s after the last tick, or at once without ticks.
	if len(offsets) > 0 {
		clock = start.Add(offsets[len(offsets)-1] + time.Second)
	}
	close(done)
	<-ended
	return out.String()
}

func TestProgressLines(t *testing.T) {
	wm := time.Date(2026, 1, 1, 11, 59, 50, 0, time.UTC)
	stats := []progress.Stats{
		{},                                   // at start
		{Read: 5000, Dead: 10, Written: 100}, // after 5 s: 1000/s
		{Read: 6000, Dead: 12, Written: 300, Watermark: wm}, // 10 s later: 100/s, lag 25 s
		{Read: 6500, Dead: 12, Written: 900, Watermark: wm}, // the end, 1 s later: 500/s, lag 26 s
	}
	const (
		l1 = "pulse: 5s elapsed, 5000 events read (1000/s), watermark lag n/a, 100 rows written, 10 dead letters"
		l2 = "pulse: 15s elapsed, 6000 events read (100/s), watermark lag 25s, 300 rows written, 12 dead letters"
		l3 = "pulse: 16s elapsed, 6500 events read (500/s), watermark lag 26s, 900 rows written, 12 dead letters"
	)
	for _, tc := range []struct {
		name           string
		terminal, live bool
		want           string
	}{
		{"plain lines", false, true, l1 + "\n" + l2 + "\n" + l3 + "\n"},
		{"terminal rewrites one line", true, true, "\r" + l1 + "\x1b[K\r" + l2 + "\x1b[K\r" + l3 + "\x1b[K\n"},
		{"remote workers: said once, then elapsed time", false, false,
			"pulse: 5s elapsed (no live counters on this runner: its workers are not in this process)\n" +
				"pulse: 15s elapsed\npulse: 16s elapsed\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := printLines(tc.terminal, tc.live, stats, 5*time.Second, 15*time.Second)
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestProgressWithoutTicksPrintsNothing(t *testing.T) {
	if got := printLines(true, true, []progress.Stats{{}}); got != "" {
		t.Errorf("a run shorter than one interval printed %q", got)
	}
}

func TestLiveCounters(t *testing.T) {
	for _, tc := range []struct {
		runner, env string
		want        bool
	}{
		{"prism", "", true},
		{"", "", true},
		{"prism", "LOOPBACK", true},
		{"flink", "LOOPBACK", true},
		{"dataflow", "", false},
		{"flink", "DOCKER", false},
		{"prism", "docker", false},
	} {
		if got := liveCounters(tc.runner, tc.env); got != tc.want {
			t.Errorf("liveCounters(%q, %q) = %v, want %v", tc.runner, tc.env, got, tc.want)
		}
	}
}
