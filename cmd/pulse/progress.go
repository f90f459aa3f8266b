package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/transforms/progress"
)

var progressEvery = flag.Duration("progress_every", 5*time.Second, "how often a progress line goes to stderr while the job runs; 0 for none")

// progressPrinter writes progress lines from the live counters of package
// progress: one per tick, rewriting one line on a terminal (\r) and
// appending plain lines otherwise (a log file, make's output).
type progressPrinter struct {
	w        io.Writer
	terminal bool
	// live says whether the DoFns run in this process, so that the
	// counters move; when not, the lines say so once and then give the
	// elapsed time only.
	live  bool
	stats func() progress.Stats
	// now reads the clock when the run ends, for the last line.
	now func() time.Time

	start  time.Time
	last   progress.Stats
	lastAt time.Time
	noted  bool
	ticked bool
	// pending is set while a terminal line is open and wants a newline
	// before anything else is printed.
	pending bool
}

func newProgressPrinter(w io.Writer, terminal, live bool, stats func() progress.Stats, now func() time.Time) *progressPrinter {
	start := now()
	return &progressPrinter{w: w, terminal: terminal, live: live, stats: stats, now: now, start: start, last: stats(), lastAt: start}
}

// line returns the progress line at now and moves the rate's interval on.
func (p *progressPrinter) line(now time.Time) string {
	elapsed := now.Sub(p.start).Round(time.Second)
	if !p.live {
		if !p.noted {
			p.noted = true
			return fmt.Sprintf("pulse: %v elapsed (no live counters on this runner: its workers are not in this process)", elapsed)
		}
		return fmt.Sprintf("pulse: %v elapsed", elapsed)
	}
	s := p.stats()
	rate := 0.0
	if dt := now.Sub(p.lastAt).Seconds(); dt > 0 {
		rate = float64(s.Read-p.last.Read) / dt
	}
	p.last, p.lastAt = s, now
	lag := "n/a"
	if !s.Watermark.IsZero() {
		lag = now.Sub(s.Watermark).Round(time.Second).String()
	}
	return fmt.Sprintf("pulse: %v elapsed, %d events read (%.0f/s), watermark lag %s, %d rows written, %d dead letters",
		elapsed, s.Read, rate, lag, s.Written, s.Dead)
}

// tick writes the line at now.
func (p *progressPrinter) tick(now time.Time) {
	p.ticked = true
	l := p.line(now)
	if p.terminal {
		// \x1b[K clears what a longer previous line left on the right.
		fmt.Fprintf(p.w, "\r%s\x1b[K", l)
		p.pending = true
		return
	}
	fmt.Fprintln(p.w, l)
}

// run prints a line per tick until done is closed. A run that printed
// anything gets a last line with the final counts (the sinks write much at
// the very end), ending an open terminal line so that what follows starts
// on a line of its own.
func (p *progressPrinter) run(ticks <-chan time.Time, done <-chan struct{}) {
	for {
		select {
		case now := <-ticks:
			p.tick(now)
		case <-done:
			if p.ticked {
				p.tick(p.now())
			}
			if p.pending {
				fmt.Fprintln(p.w)
			}
			return
		}
	}
}

// startProgress prints progress lines to f every interval until the
// returned function is called, which waits for the printer to finish. It
// prints nothing when quiet or when every is not positive.
func startProgress(f *os.File, every time.Duration, quiet, live bool) (stop func()) {
	if quiet || every <= 0 {
		return func() {}
	}
	p := newProgressPrinter(f, isTerminal(f), live, progress.Snapshot, time.Now)
	t := time.NewTicker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.run(t.C, done)
	}()
	return func() {
		t.Stop()
		close(done)
		wg.Wait()
	}
}

// liveCounters says whether the runner executes the DoFns in this process,
// where the counters of package progress are: prism forces a LOOPBACK
// environment when none is set, and any runner with LOOPBACK runs its
// workers here.
func liveCounters(runner, environmentType string) bool {
	env := strings.ToLower(environmentType)
	switch {
	case env == "loopback":
		return true
	case env != "":
		return false
	}
	switch strings.ToLower(runner) {
	case "", "prism", "direct":
		return true
	}
	return false
}

// isTerminal says whether f is a character device, such as a terminal;
// files, pipes and sockets are not.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
