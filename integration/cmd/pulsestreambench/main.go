// Command pulsestreambench measures Pulse's streaming path on this
// machine: the local stack (Pub/Sub fake and BigQuery emulator, in this
// process), generated events published at a set rate, and `pulse`
// streaming from the subscription into the emulator on prism, as its own
// process. It prints the job's sustained read rate, the delay from an
// event's publish to the item_metrics row that counts it being queryable
// (p50/p90/p99), and the job process's RSS over the run
// (integration/streambench says how each is measured).
//
//	pulsestreambench --pulse=bin/pulse --rate=2000 --duration=5m
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/integration/streambench"
)

func main() {
	var cfg streambench.Config
	flag.StringVar(&cfg.Pulse, "pulse", "bin/pulse", "the pulse binary to run")
	flag.StringVar(&cfg.Pipeline, "pipeline", "all", "pipeline to run: monitor, learn or all")
	flag.Float64Var(&cfg.Rate, "rate", 1000, "events per second to publish (event time follows the wall clock)")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Minute, "how long to publish")
	flag.Int64Var(&cfg.Events, "events", 0, "stop publishing after this many events (0: after --duration)")
	flag.DurationVar(&cfg.Warmup, "warmup", 30*time.Second, "leave events published in the first this long out of the figures")
	flag.DurationVar(&cfg.Poll, "poll", time.Second, "interval between queries of item_metrics")
	flag.DurationVar(&cfg.Sample, "sample", time.Second, "interval between RSS samples of the pulse process")
	flag.DurationVar(&cfg.IdleStop, "idle_stop", time.Minute, "pulse --idle_stop: the job drains once the subscription is idle this long (long enough that a busy machine's stalls do not end the read early)")
	flag.IntVar(&cfg.Streams, "pubsub_streams", 64, "pulse --pubsub_streams")
	flag.Uint64Var(&cfg.Seed, "seed", 42, "generator seed")
	flag.IntVar(&cfg.Items, "items", 2000, "distinct items")
	flag.IntVar(&cfg.Users, "users", 0, "distinct users (0: enough for --rate)")
	cpuProfile := flag.String("pulse_cpuprofile", "", "pulse --cpuprofile: write the job's CPU profile to this file")
	pulseArgs := flag.String("pulse_args", "", "further flags for pulse, separated by spaces (e.g. \"--dedup_horizon=5m --session_gap=5m\")")
	logPath := flag.String("log", "out/pulsestreambench.log", "file that receives the pulse process's output (empty: discard)")
	flag.Parse()
	if *cpuProfile != "" {
		cfg.PulseArgs = append(cfg.PulseArgs, "--cpuprofile="+*cpuProfile)
	}
	cfg.PulseArgs = append(cfg.PulseArgs, strings.Fields(*pulseArgs)...)
	if err := run(cfg, *logPath); err != nil {
		fmt.Fprintf(os.Stderr, "pulsestreambench: %v\n", err)
		os.Exit(1)
	}
}

func run(cfg streambench.Config, logPath string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var log io.Writer
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		defer f.Close()
		log = f
		fmt.Fprintf(os.Stderr, "pulsestreambench: publishing %.0f events/s for %v; the job's output goes to %s\n", cfg.Rate, cfg.Duration, logPath)
	}
	cfg.Log = log
	res, err := streambench.Run(ctx, cfg)
	if res != nil {
		streambench.Print(os.Stdout, res)
	}
	return err
}
