package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
)

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// small keeps set-up cheap: warm-up work scales with the user count.
var small = []string{"-users=5000", "-items=500", "-events=3000"}

func TestByteIdentical(t *testing.T) {
	args := append(small, "-seed=9", "-duplicates=0.05", "-late=0.05", "-malformed=0.05", "-late-lag=10s")
	code, a, _ := runArgs(t, args...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if code, _, _ := runArgs(t, append(args, "-output="+file, "-quiet")...); code != 0 {
		t.Fatalf("exit %d writing %s", code, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if a != string(b) {
		t.Fatal("the same flags gave different output on stdout and in -output")
	}
	lines := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	if len(lines) != 3000 {
		t.Fatalf("%d lines, want 3000", len(lines))
	}
	var bad int
	for _, l := range lines {
		if _, err := event.Decode([]byte(l)); err != nil {
			bad++
		}
	}
	if bad < 75 || bad > 250 {
		t.Errorf("%d of 3000 lines rejected, want about 5%%", bad)
	}
	if _, c, _ := runArgs(t, append(args, "-seed=10")...); c == a {
		t.Error("-seed=10 gave the same output as -seed=9")
	}
}

func TestSummary(t *testing.T) {
	code, _, stderr := runArgs(t, append(small, "-events=100")...)
	if code != 0 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pulsegen: 100 lines: 100 valid") {
		t.Errorf("exit %d, stderr %q; want 0 and one summary line", code, stderr)
	}
	code, _, stderr = runArgs(t, append(small, "-events=100", "-quiet")...)
	if code != 0 || stderr != "" {
		t.Errorf("-quiet: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr = runArgs(t, "-help"); code != 0 || !strings.Contains(stderr, "-malformed") {
		t.Errorf("-help: exit %d, stderr %q", code, stderr)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-nosuch"},
		{"-events=-1"},
		{"-events=ten"},
		{"-rate=0"},
		{"-rate=-5"},
		{"-users=0"},
		{"-items=-1"},
		{"-late-lag=0s"},
		{"-duplicates=1.5"},
		{"-late=0.5", "-malformed=0.5"},
		{"-start=yesterday"},
		{"-start=2026-01-01T00:00:00"},
		{"-seed=-1"},
		{"extra"},
	} {
		code, stdout, stderr := runArgs(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pulsegen: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one error line", args, code, stdout, stderr)
		}
	}
	code, _, stderr := runArgs(t, append(small, "-output="+filepath.Join(t.TempDir(), "no", "such", "dir"))...)
	if code != 1 || !strings.Contains(stderr, "create output") {
		t.Errorf("unwritable output: exit %d, stderr %q; want 1", code, stderr)
	}
}

func TestRealtime(t *testing.T) {
	// 50 events at 200/s (×1.3 at midnight) span about 190ms of event time;
	// the default users suffice for that rate.
	began := time.Now()
	code, stdout, stderr := runArgs(t, "-events=50", "-rate=200", "-realtime")
	elapsed := time.Since(began)
	if code != 0 || strings.Count(stdout, "\n") != 50 {
		t.Fatalf("exit %d, %d lines", code, strings.Count(stdout, "\n"))
	}
	if elapsed < 100*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("-realtime took %v for ~190ms of event time (%s)", elapsed, stderr)
	}
}

func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := run(ctx, append(small, "-events=0"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes after an interrupt", out.Len())
	}
}
