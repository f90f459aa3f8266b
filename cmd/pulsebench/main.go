// Command pulsebench measures the monitor job on prism beside a plain Go
// loop (package pipelines/monitor/loop) that computes the same tables from
// the same file, and prints a table: events per second of wall time, CPU
// seconds (user + system) per million events, peak RSS, and the ratio
// pipeline / loop. Each figure is the median of -runs runs.
//
// With --learn (the default) it also measures the learn job (default
// models) on prism beside the models library trained in a plain loop on
// the same events (learnloop.go), and prints a second table with the
// loop's updates per second of training time.
//
//	pulsebench --events=100000 --runs=3 [--learn=false] [--cpuprofile=DIR]
//
// PULSE_BENCH_EVENTS sets the default of --events. Every run is a fresh
// child process (this binary again), so that the peak RSS is that run's
// own and no run inherits another's heap; loop and pipeline runs alternate,
// so that a change of machine load affects both alike.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor/loop"
	"github.com/pulse-analytics/pulse/transforms/gen"
	tlearn "github.com/pulse-analytics/pulse/transforms/learn"
)

var (
	events  = flag.Int("events", envInt("PULSE_BENCH_EVENTS", 100000), "events (input lines) to generate; default $PULSE_BENCH_EVENTS or 100000")
	runs    = flag.Int("runs", 3, "runs of each implementation; the table shows medians")
	seed    = flag.Uint64("seed", 42, "generator seed")
	keep    = flag.String("input", "", "benchmark this events file instead of generating one")
	prof    = flag.String("cpuprofile", "", "write each implementation's CPU profile (of its last run) to this directory as <name>.pprof")
	child   = flag.String("child", "", "internal: run one implementation (loop, pipeline, modelsloop or learn) on --input and print its measurement")
	doLearn = flag.Bool("learn", true, "also measure the learn job against the models library in a loop")
)

// measurement is one run's cost, as a child reports it.
type measurement struct {
	Lines   int64   `json:"lines"`
	Wall    float64 `json:"wall_s"`
	CPU     float64 `json:"cpu_s"`
	MaxRSSK int64   `json:"max_rss_kb"`
	// Updates is the number of model updates: PredictLearn calls of the
	// models loop, the learn_examples counter of the learn job.
	Updates int64 `json:"updates,omitempty"`
	// Train is the models loop's seconds in featurizing and learning.
	Train float64 `json:"train_s,omitempty"`
}

func main() {
	flag.Parse()
	beam.Init()
	var err error
	if *child != "" {
		err = runChild(*child, *keep)
	} else {
		err = bench(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulsebench: %v\n", err)
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func bench(w io.Writer) error {
	if *events < 1 || *runs < 1 {
		return errors.New("--events and --runs must be positive")
	}
	tmp, err := os.MkdirTemp("", "pulsebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	input := *keep
	if input == "" {
		input = filepath.Join(tmp, "events.jsonl")
		if err := generate(input, *events, *seed); err != nil {
			return err
		}
	}
	fi, err := os.Stat(input)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	names := []string{"loop", "pipeline"}
	if *doLearn {
		names = append(names, "modelsloop", "learn")
	}
	got := map[string][]measurement{}
	for i := range *runs {
		for _, name := range names {
			m, err := spawn(self, name, input, filepath.Join(tmp, fmt.Sprint("out", i)))
			if err != nil {
				return fmt.Errorf("%s run %d: %w", name, i+1, err)
			}
			got[name] = append(got[name], m)
			fmt.Fprintf(os.Stderr, "pulsebench: %s run %d: %.2f s wall, %.2f s CPU, %d MB\n", name, i+1, m.Wall, m.CPU, m.MaxRSSK>>10)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "monitor job on prism vs plain Go loop: %d lines (%.1f MB), median of %d runs; %d CPUs, load average %s\n",
		got["loop"][0].Lines, float64(fi.Size())/1e6, *runs, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tevents/s\tCPU s/M events\tpeak RSS MB\twall s\t")
	row := func(name string, rate, cpu, rss, wall float64) {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.0f\t%.2f\t\n", name, rate, cpu, rss, wall)
	}
	med := map[string][4]float64{}
	for _, name := range names[:2] {
		ms := got[name]
		rate := median(ms, func(m measurement) float64 { return float64(m.Lines) / m.Wall })
		cpu := median(ms, func(m measurement) float64 { return m.CPU / float64(m.Lines) * 1e6 })
		rss := median(ms, func(m measurement) float64 { return float64(m.MaxRSSK) / 1024 })
		wall := median(ms, func(m measurement) float64 { return m.Wall })
		med[name] = [4]float64{rate, cpu, rss, wall}
		row(name, rate, cpu, rss, wall)
	}
	l, p := med["loop"], med["pipeline"]
	fmt.Fprintf(tw, "pipeline/loop\t%.4f\t%.1f\t%.1f\t%.1f\t\n", p[0]/l[0], p[1]/l[1], p[2]/l[2], p[3]/l[3])
	if err := tw.Flush(); err != nil || !*doLearn {
		return err
	}
	return learnTable(w, got)
}

// learnTable prints the learn job beside the models loop: events/s, model
// updates (per second of the loop's training time; the job's over its
// wall time), CPU per M events, peak RSS, wall.
func learnTable(w io.Writer, got map[string][]measurement) error {
	fmt.Fprintf(w, "\nlearn job (default models) on prism vs the models library in a loop: %d lines, median of %d runs\n", got["modelsloop"][0].Lines, *runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tevents/s\tupdates\tupdates/s\tµs/update\tCPU s/M events\tpeak RSS MB\twall s\t")
	med := map[string][6]float64{}
	for _, name := range []string{"modelsloop", "learn"} {
		ms := got[name]
		rate := median(ms, func(m measurement) float64 { return float64(m.Lines) / m.Wall })
		ups := median(ms, func(m measurement) float64 {
			if m.Train > 0 {
				return float64(m.Updates) / m.Train
			}
			return float64(m.Updates) / m.Wall
		})
		cpu := median(ms, func(m measurement) float64 { return m.CPU / float64(m.Lines) * 1e6 })
		rss := median(ms, func(m measurement) float64 { return float64(m.MaxRSSK) / 1024 })
		wall := median(ms, func(m measurement) float64 { return m.Wall })
		med[name] = [6]float64{rate, float64(ms[0].Updates), ups, cpu, rss, wall}
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%.0f\t%.2f\t%.2f\t%.0f\t%.2f\t\n", name, rate, ms[0].Updates, ups, 1e6/ups, cpu, rss, wall)
	}
	l, p := med["modelsloop"], med["learn"]
	fmt.Fprintf(tw, "learn/modelsloop\t%.4f\t\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", p[0]/l[0], p[2]/l[2], l[2]/p[2], p[3]/l[3], p[4]/l[4], p[5]/l[5])
	return tw.Flush()
}

func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// generate writes n lines of a day-shaped stream with the defects that
// `make run` uses: 2% duplicates, 2% late, 1% malformed.
func generate(path string, n int, seed uint64) error {
	g, err := gen.New(gen.Config{Seed: seed, Duplicates: 0.02, Late: 0.02, Malformed: 0.01})
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var buf []byte
	for range n {
		buf, _ = g.Next(buf[:0])
		buf = append(buf, '\n')
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func spawn(self, name, input, output string) (measurement, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(self, "--child="+name, "--input="+input, "--output="+output, "--cpuprofile="+*prof)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%v: %s", err, tail(errb.String()))
	}
	var m measurement
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return measurement{}, fmt.Errorf("child output %q: %v", out.String(), err)
	}
	return m, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

var output = flag.String("output", "", "internal: the child's output directory (pipeline)")

// runChild runs one implementation and prints its measurement as JSON.
func runChild(name, input string) error {
	lines, err := countLines(input)
	if err != nil {
		return err
	}
	var run func() error
	var updates int64
	var train float64
	switch name {
	case "loop":
		run = func() error {
			f, err := os.Open(input)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = loop.Run(f, loop.Config{})
			return err
		}
	case "pipeline":
		if *runners.Runner == "" || *runners.Runner == "direct" {
			*runners.Runner = "prism"
		}
		job.UnsplitOnPrism(*runners.Runner) // as cmd/pulse runs it
		run = func() error {
			p, s := beam.NewPipelineWithRoot()
			if err := job.Build(s, job.Config{Pipeline: job.Monitor, Input: input, Output: *output}); err != nil {
				return err
			}
			return beamx.Run(context.Background(), p)
		}
	case "modelsloop":
		run = func() error {
			f, err := os.Open(input)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := learnLoop(f, learn.DefaultModels())
			updates, train = st.Updates, st.Train
			return err
		}
	case "learn":
		if *runners.Runner == "" || *runners.Runner == "direct" {
			*runners.Runner = "prism"
		}
		job.UnsplitOnPrism(*runners.Runner) // as cmd/pulse runs it
		run = func() error {
			p, s := beam.NewPipelineWithRoot()
			if err := job.Build(s, job.Config{Pipeline: job.Learn, Input: input, Output: *output}); err != nil {
				return err
			}
			res, err := beamx.RunWithMetrics(context.Background(), p)
			if err != nil {
				return err
			}
			for _, c := range res.Metrics().AllMetrics().Counters() {
				if c.Key.Namespace == "pulse" && c.Key.Name == tlearn.CounterExamples {
					updates += c.Committed
				}
			}
			return nil
		}
	default:
		return fmt.Errorf("--child=%q: want loop, pipeline, modelsloop or learn", name)
	}
	if *prof != "" {
		f, err := os.Create(filepath.Join(*prof, name+".pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	cpu0 := cpuSeconds()
	t0 := time.Now()
	if err := run(); err != nil {
		return err
	}
	wall := time.Since(t0).Seconds()
	pprof.StopCPUProfile()
	var ru syscall.Rusage
	cpu := cpuSeconds() - cpu0
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return json.NewEncoder(os.Stdout).Encode(measurement{Lines: lines, Wall: wall, CPU: cpu, MaxRSSK: ru.Maxrss, Updates: updates, Train: train})
}

// cpuSeconds is the process's user + system CPU time; the prism runner
// and its SDK worker run in this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// countLines counts the lines of path in chunks, so that the count adds
// nothing to the run's peak RSS.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<16)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
