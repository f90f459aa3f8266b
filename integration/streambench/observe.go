package streambench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Sample is one observation of the pulse process.
type Sample struct {
	// At is when it was taken.
	At time.Time
	// Read is the events read so far by the job (its progress line).
	Read int64
	// Written is the rows written so far by its sinks.
	Written int64
	// RSS is the process's resident set size in bytes.
	RSS int64
}

// progressLine matches the progress lines of cmd/pulse (progress.go):
// "pulse: 5s elapsed, 1234 events read (246/s), watermark lag 3s, 10 rows
// written, 0 dead letters".
var progressLine = regexp.MustCompile(`^pulse: .* elapsed, (\d+) events read \([^)]*\), watermark lag [^,]*, (\d+) rows written`)

// summaryLine matches the summary cmd/pulse prints at the end of a run.
var summaryLine = regexp.MustCompile(`^read (\d+) events: (\d+) used, (\d+) dead-lettered, (\d+) de-duplicated`)

// observer follows the pulse process: its progress lines (stderr), its
// summary (stdout) and its RSS (/proc).
type observer struct {
	mu      sync.Mutex
	read    int64
	written int64
	samples []Sample
	// summary is the parsed end-of-run summary: read, used, dead, dedup.
	summary []int64
}

// follow reads the process's output line by line, copying it to log.
func (o *observer) follow(r io.Reader, log io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if log != nil {
			log.Write(append(append([]byte(nil), line...), '\n'))
		}
		if m := progressLine.FindSubmatch(line); m != nil {
			o.mu.Lock()
			o.read, _ = strconv.ParseInt(string(m[1]), 10, 64)
			o.written, _ = strconv.ParseInt(string(m[2]), 10, 64)
			o.mu.Unlock()
		} else if m := summaryLine.FindSubmatch(line); m != nil {
			s := make([]int64, 4)
			for i := range s {
				s[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
			}
			o.mu.Lock()
			o.summary = s
			o.mu.Unlock()
		}
	}
}

// sample records the latest counts and the RSS of pid; nothing once the
// process is gone.
func (o *observer) sample(pid int, now time.Time) {
	rss, err := residentBytes(pid)
	if err != nil || rss == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.samples = append(o.samples, Sample{At: now, Read: o.read, Written: o.written, RSS: rss})
}

// snapshot returns the samples so far and the summary, if any.
func (o *observer) snapshot() ([]Sample, []int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Sample(nil), o.samples...), o.summary
}

// residentBytes reads VmRSS of a process from /proc (Linux).
func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("rss of %d: %w", pid, err)
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest) // "123456 kB"
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("rss of %d: %w", pid, err)
				}
				return kb << 10, nil
			}
		}
	}
	return 0, fmt.Errorf("rss of %d: no VmRSS line", pid)
}

// rateBetween is the read rate between the samples nearest after a and b.
func rateBetween(samples []Sample, a, b time.Time) (float64, bool) {
	var first, last *Sample
	for i := range samples {
		s := &samples[i]
		if first == nil && !s.At.Before(a) {
			first = s
		}
		if !s.At.After(b) {
			last = s
		}
	}
	if first == nil || last == nil || !last.At.After(first.At) {
		return 0, false
	}
	return float64(last.Read-first.Read) / last.At.Sub(first.At).Seconds(), true
}
