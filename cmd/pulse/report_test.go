package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/gen"
)

var progressLine = regexp.MustCompile(`(?m)^pulse: \S+ elapsed, (\d+) events read \(\d+/s\), watermark lag (?:n/a|\S+), (\d+) rows written, (\d+) dead letters$`)

// TestProgressAndReport runs pulse with progress lines on (stderr is a pipe
// here: plain lines), checks the last line's counts against the summary and
// the output directory, then renders `pulse report` from that directory.
func TestProgressAndReport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 5, Users: 4000, Items: 200, Rate: 8, Malformed: 0.02, Duplicates: 0.01}, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := pulse(t, "--pipeline=monitor", "--input="+in, "--output="+out, "--progress_every=20ms")
	if code != 0 {
		t.Fatalf("pulse exited %d: %s", code, tail(stderr))
	}
	lines := progressLine.FindAllStringSubmatch(stderr, -1)
	if len(lines) < 2 {
		t.Fatalf("%d progress lines in stderr, want a few: %s", len(lines), tail(stderr))
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("progress rewrote a line on a pipe")
	}
	// The last line comes after the run: its counts are the final ones.
	last := lines[len(lines)-1]
	read, written, dead := atoi(t, last[1]), atoi(t, last[2]), atoi(t, last[3])
	if read != 3000 {
		t.Errorf("last progress line says %d events read, want 3000", read)
	}
	if !strings.Contains(stdout, ", "+strconv.Itoa(dead)+" dead-lettered") {
		t.Errorf("last progress line says %d dead letters, the summary says otherwise: %s", dead, stdout)
	}
	rows := 0
	files, _ := filepath.Glob(filepath.Join(out, "*", "*.jsonl"))
	for _, f := range files {
		rows += countLines(f)
	}
	if written != rows {
		t.Errorf("last progress line says %d rows written, the output holds %d", written, rows)
	}

	html, pngs := filepath.Join(dir, "report.html"), filepath.Join(dir, "png")
	code, stdout, stderr = pulse(t, "report", "--from="+out, "--out="+html, "--png_dir="+pngs)
	if code != 0 || stdout != "wrote "+html+"\n" {
		t.Fatalf("pulse report exited %d, stdout %q: %s", code, stdout, tail(stderr))
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	// A monitor run has no model_metrics: the page says so.
	for _, s := range []string{`id="chart-events"`, `id="chart-trending"`, `id="chart-sessions"`, `id="chart-dead-letters"`, "no model_metrics rows"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("the report lacks %s", s)
		}
	}
	for _, id := range []string{"events", "trending", "sessions", "dead-letters"} {
		if fi, err := os.Stat(filepath.Join(pngs, id+".png")); err != nil || fi.Size() < 1000 {
			t.Errorf("--png_dir has no chart %s.png: %v", id, err)
		}
	}
}

func TestQuietPrintsNoProgress(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 1, Users: 1000, Rate: 2}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pulse(t, "--quiet", "--progress_every=1ms", "--input="+in, "--output="+filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("pulse exited %d: %s", code, tail(stderr))
	}
	if strings.Contains(stderr, "elapsed") || stdout != "" {
		t.Errorf("--quiet printed progress or a summary: stdout %q, stderr %s", stdout, tail(stderr))
	}
}

func TestReportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --from", []string{"report"}, "--from is required"},
		{"--from missing", []string{"report", "--from=" + filepath.Join(dir, "nope")}, "is not a directory"},
		{"unknown flag", []string{"report", "--from=" + dir, "--pipeline=monitor"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := pulse(t, tc.args...)
			if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q: want 2 and one line containing %q", code, stderr, tc.want)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
