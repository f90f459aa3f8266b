// Command pulsegen writes a seeded stream of realistic Pulse behaviour
// events as JSON lines, optionally with duplicates, late events and
// malformed payloads, for load and end-to-end tests.
//
// Usage:
//
//	pulsegen [flags]
//
// The same flags always produce the same bytes. A one-line summary goes to
// standard error unless -quiet; bad flags exit with status 2. See
// transforms/gen for the behaviour model.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks errors in the command line, which exit with status 2.
type usageError struct{ error }

// run is the whole command, apart from process plumbing, so tests can
// drive it. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := generate(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pulsegen: %v (see pulsegen -help)\n", ue.error)
		return 2
	}
	fmt.Fprintf(stderr, "pulsegen: %v\n", err)
	return 1
}

func generate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pulsegen", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line by run
	var (
		cfg      gen.Config
		start    string
		events   = fs.Int64("events", 10000, "number of lines to write; 0 writes until interrupted")
		output   = fs.String("output", "-", "output file, - for standard output, or pubsub://projects/P/topics/T")
		endpoint = fs.String("pubsub_endpoint", "", "host:port of a Pub/Sub emulator or fake (creates the topic)")
		realtime = fs.Bool("realtime", false, "pace writes to the wall clock at the event-time rate")
		quiet    = fs.Bool("quiet", false, "do not print the summary line to standard error")
	)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same flags and seed give the same output")
	fs.IntVar(&cfg.Users, "users", gen.DefaultUsers, "number of distinct users")
	fs.IntVar(&cfg.Items, "items", gen.DefaultItems, "number of distinct items")
	fs.IntVar(&cfg.Categories, "categories", gen.DefaultCategories, "number of item categories")
	fs.StringVar(&start, "start", gen.DefaultStart.Format(time.RFC3339), "event time at which the stream starts (RFC 3339)")
	fs.Float64Var(&cfg.Rate, "rate", gen.DefaultRate, "mean events per second of event time over a day (shaped by time of day)")
	fs.Float64Var(&cfg.Duplicates, "duplicates", 0, "fraction of lines that repeat a recent line (same event_id)")
	fs.Float64Var(&cfg.Late, "late", 0, "fraction of lines emitted out of order, about -late-lag after their event time")
	fs.DurationVar(&cfg.LateLag, "late-lag", gen.DefaultLateLag, "mean event-time delay of late lines")
	fs.Float64Var(&cfg.Malformed, "malformed", 0, "fraction of lines replaced by payloads the event contract rejects")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage: pulsegen [flags]\nWrites seeded behaviour events as JSON lines.")
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *events < 0 {
		return usageError{fmt.Errorf("-events %d: must not be negative", *events)}
	}
	// Zero means "default" to gen.Config but is a mistake on a command line.
	for _, f := range []struct {
		name string
		zero bool
	}{{"users", cfg.Users == 0}, {"items", cfg.Items == 0}, {"categories", cfg.Categories == 0}, {"rate", cfg.Rate == 0}, {"late-lag", cfg.LateLag == 0}} {
		if f.zero {
			return usageError{fmt.Errorf("-%s: must be positive", f.name)}
		}
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return usageError{fmt.Errorf("-start: %w", err)}
	}
	cfg.Start = t
	g, err := gen.New(cfg)
	if err != nil {
		return usageError{err}
	}

	out, closeOut := stdout, func() error { return nil }
	if pubsub.IsURL(*output) {
		topic, err := pubsub.Parse(*output, "topics")
		if err != nil {
			return usageError{fmt.Errorf("-output: %w", err)}
		}
		p, err := newPublisher(ctx, topic, *endpoint)
		if err != nil {
			return err
		}
		out, closeOut = p, p.Close
	} else if *output != "-" {
		f, err := os.Create(*output)
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		out, closeOut = f, f.Close
	}
	began := time.Now()
	err = write(ctx, g, out, *events, *realtime, cfg.Start)
	if cerr := closeOut(); err == nil && cerr != nil {
		err = fmt.Errorf("close output: %w", cerr)
	}
	if err != nil {
		return err
	}
	if !*quiet {
		elapsed := time.Since(began)
		fmt.Fprintf(stderr, "pulsegen: %v; written in %.3fs (%.0f lines/s)\n",
			g.Stats(), elapsed.Seconds(), float64(g.Stats().Lines)/elapsed.Seconds())
	}
	return nil
}

// write emits n lines (unbounded if n is 0) until ctx is done. In realtime
// mode it sleeps so that event time advances no faster than the wall clock.
func write(ctx context.Context, g *gen.Generator, out io.Writer, n int64, realtime bool, start time.Time) error {
	w := bufio.NewWriterSize(out, 256<<10)
	wall := time.Now()
	var line []byte
	for i := int64(0); n == 0 || i < n; i++ {
		if i&1023 == 0 || realtime {
			if ctx.Err() != nil {
				break // interrupted: keep what was written
			}
		}
		line, _ = g.Next(line[:0])
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if realtime {
			if ahead := g.Now().Sub(start) - time.Since(wall); ahead > time.Millisecond {
				if err := w.Flush(); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
				select {
				case <-time.After(ahead):
				case <-ctx.Done():
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
