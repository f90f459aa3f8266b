package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
)

// TestMain lets the tests run this test binary as the pulse command.
func TestMain(m *testing.M) {
	if os.Getenv("PULSE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pulse runs the command with args and returns its exit code and output.
func pulse(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PULSE_TEST_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestUsageErrorsExitTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "e.jsonl")
	if err := os.WriteFile(file, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"bad duration", []string{"--window=soon", "--input=" + file, "--output=" + dir}, "invalid value"},
		{"no input", []string{"--output=" + dir}, "--input is required"},
		{"no output", []string{"--input=" + file}, "--output is required"},
		{"bad trending windows", []string{"--trending_window=90s", "--input=" + file, "--output=" + dir}, "multiple of the period"},
		{"bad k", []string{"--top_k=-1", "--input=" + file, "--output=" + dir}, "k = -1"},
		{"unknown pipeline", []string{"--pipeline=forecast", "--input=" + file, "--output=" + dir}, "--pipeline"},
		{"glob matches nothing", []string{"--input=" + filepath.Join(dir, "*.csv"), "--output=" + dir}, "matches no file"},
		{"input is a directory", []string{"--input=" + dir, "--output=" + filepath.Join(dir, "o")}, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := pulse(t, tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tc.want)
			}
		})
	}
}

// TestMonitorCountsMatchAnIndependentCount runs pulse on a pulsegen stream
// with duplicates, late and malformed events and checks every item_metrics
// row against a count made here with encoding/json.
func TestMonitorCountsMatchAnIndependentCount(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 7, Users: 2000, Items: 300, Rate: 20, Duplicates: 0.03, Late: 0.03, Malformed: 0.02}, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := pulse(t, "--runner=direct", "--pipeline=monitor", "--input="+in, "--output="+out)
	if code != 0 {
		t.Fatalf("pulse exited %d: %s", code, tail(stderr))
	}
	if !strings.Contains(stderr, "running on prism instead") {
		t.Errorf("--runner=direct gave no warning")
	}
	want, malformed := countIndependently(t, buf)
	used := 0
	for _, n := range want {
		used += int(n)
	}
	// read = used + dead-lettered + de-duplicated, with the counts made here.
	if summary := fmt.Sprintf("read 20000 events: %d used, %d dead-lettered, %d de-duplicated\n",
		used, malformed, 20000-used-malformed); !strings.Contains(stdout, summary) {
		t.Errorf("summary %q does not say %q", stdout, summary)
	}
	if malformed == 0 {
		t.Fatal("the input has no malformed lines: the test would prove less than it claims")
	}
	got := map[string]int64{}
	for _, r := range readJSONL[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics)) {
		k := r.WindowStart + " " + r.ItemID
		if _, dup := got[k]; dup {
			t.Errorf("two rows for %s", k)
		}
		got[k] = r.Events
		if r.PaneTiming != "ON_TIME" || !r.IsFinal {
			t.Errorf("row %s is pane %s final=%v, want the final ON_TIME pane of a batch run", k, r.PaneTiming, r.IsFinal)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d item-window rows, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d events, want %d", k, got[k], n)
		}
	}
	if dead := readJSONL[map[string]any](t, filepath.Join(out, "dead_letter")); len(dead) != malformed {
		t.Errorf("%d dead-letter rows, want the %d malformed lines", len(dead), malformed)
	}
}

var actions = map[string]bool{"view": true, "click": true, "like": true, "comment": true, "share": true,
	"favorite": true, "cart": true, "purchase": true, "payment": true}

// countIndependently counts events per "window_start item_id" the slow,
// obvious way: encoding/json, the contract's rules, first copy of an id wins.
func countIndependently(t *testing.T, data []byte) (map[string]int64, int) {
	counts := map[string]int64{}
	seen := map[string]bool{}
	malformed := 0
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var e struct {
			EventID   string          `json:"event_id"`
			UserID    string          `json:"user_id"`
			ItemID    string          `json:"item_id"`
			Action    string          `json:"action"`
			EventTime json.RawMessage `json:"event_time"`
			Watch     *float64        `json:"watch_seconds"`
		}
		if !utf8.Valid(line) || json.Unmarshal(line, &e) != nil || e.EventID == "" || e.UserID == "" || e.ItemID == "" ||
			!actions[e.Action] || (e.Watch != nil && *e.Watch < 0) {
			malformed++
			continue
		}
		var when time.Time
		var ms int64
		var s string
		switch {
		case json.Unmarshal(e.EventTime, &ms) == nil:
			when = time.UnixMilli(ms)
		case json.Unmarshal(e.EventTime, &s) == nil:
			var err error
			if when, err = time.Parse(time.RFC3339Nano, s); err != nil {
				malformed++
				continue
			}
		default:
			malformed++
			continue
		}
		if when.Year() < 1970 { // the contract's range is years 1970 to 9999
			malformed++
			continue
		}
		if seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		counts[when.UTC().Truncate(time.Minute).Format(time.RFC3339)+" "+e.ItemID]++
	}
	return counts, malformed
}

func readJSONL[T any](t *testing.T, dir string) []T {
	t.Helper()
	rows, err := jsonl.Read[T](dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("no rows in %s", dir)
	}
	return rows
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
