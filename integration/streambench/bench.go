// Package streambench measures Pulse's streaming path on this machine: it
// starts the local stack (the Pub/Sub fake and the BigQuery emulator),
// publishes generated events at a set rate with each publish time
// recorded, runs `pulse` streaming from the subscription into the emulator
// on prism as its own process, and polls the emulator with SQL while the
// job runs. It reports the job's sustained read rate, the delay from an
// event's publish to the item_metrics row that counts it being queryable,
// and the job process's resident memory over the run.
package streambench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bq "cloud.google.com/go/bigquery"
	ps "cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/iterator"

	"github.com/pulse-analytics/pulse/integration/stack"
	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

const (
	project = "pulse-bench"
	dataset = "pulse"
	// window is the job's default item_metrics window (cmd/pulse --window).
	window = time.Minute
)

// Config is one benchmark run.
type Config struct {
	// Pulse is the path of the pulse binary to run.
	Pulse string
	// Pipeline is monitor, learn or all.
	Pipeline string
	// Rate is the target publish rate in events per second; the events'
	// event times advance with the wall clock at that rate.
	Rate float64
	// Duration is how long to publish; Events, when positive, stops
	// publishing earlier, after that many events.
	Duration time.Duration
	Events   int64
	// Warmup is left out of the sustained rate and the delays: events
	// published in the first Warmup are not measured (the job is starting).
	Warmup time.Duration
	// Poll is the interval between queries of item_metrics.
	Poll time.Duration
	// Sample is the interval between RSS samples of the pulse process.
	Sample time.Duration
	// IdleStop is passed to pulse: the read ends once the subscription is
	// idle this long, and the job drains and exits.
	IdleStop time.Duration
	// Streams is pulse's --pubsub_streams.
	Streams int
	// PulseArgs are further flags for pulse, such as --cpuprofile=FILE.
	PulseArgs []string
	// Seed, Users and Items shape the generated stream (transforms/gen);
	// Users 0 picks enough users for Rate.
	Seed         uint64
	Users, Items int
	// Log receives the pulse process's output; nil discards it.
	Log io.Writer
}

// Result is what a run measured.
type Result struct {
	Config Config
	// Began is when publishing began; PublishEnd when it ended; JobEnd
	// when the pulse process exited.
	Began, PublishEnd, JobEnd time.Time
	// Published counts the events published.
	Published int64
	// Sustained is the job's read rate (events/s) from the end of the
	// warm-up to CaughtUp, when it had read every published event;
	// Backlog is what it had not read when publishing ended.
	Sustained float64
	CaughtUp  time.Time
	Backlog   int64
	// Summary is the job's closing count: read, used, dead-lettered and
	// de-duplicated events (nil if it printed none).
	Summary []int64
	// Delays are the publish-to-queryable delays (see Tracker).
	Delays Delays
	// Samples are the RSS and progress samples of the pulse process.
	Samples []Sample
	// Queries counts item_metrics polls; QueryTime is their mean duration.
	Queries   int
	QueryTime time.Duration
	// LoadBefore and LoadAfter are the machine's load averages (1, 5,
	// 15 min) when the run began and ended: the machine may be shared.
	LoadBefore, LoadAfter string
}

// Run runs one benchmark. When the pulse job fails, Run returns what it
// measured until then with the error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Rate <= 0 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("streambench: want a positive rate and duration, got %v and %v", cfg.Rate, cfg.Duration)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Sample <= 0 {
		cfg.Sample = time.Second
	}
	if cfg.IdleStop <= 0 {
		cfg.IdleStop = time.Minute
	}
	if cfg.Streams <= 0 {
		cfg.Streams = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loadBefore := LoadAverage()
	st, err := stack.Start(project)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	topic := pubsub.Name{Project: project, Kind: "topics", ID: "events"}
	sub := pubsub.Name{Project: project, Kind: "subscriptions", ID: "events-pulse"}
	psc, err := pubsub.NewClient(ctx, project, st.PubSubAddr)
	if err != nil {
		return nil, err
	}
	defer psc.Close()
	if err := pubsub.EnsureTopic(ctx, psc, topic); err != nil {
		return nil, err
	}
	if err := pubsub.EnsureSubscription(ctx, psc, sub, topic); err != nil {
		return nil, err
	}
	out := bigquery.Output{Project: project, Dataset: dataset, Endpoint: st.BigQueryURL}
	bqc, err := bigquery.NewClient(ctx, out)
	if err != nil {
		return nil, err
	}
	defer bqc.Close()
	if err := bigquery.Init(ctx, bqc, out, job.Tables(), job.Views()); err != nil {
		return nil, fmt.Errorf("streambench: init dataset: %w", err)
	}

	// Shipped configurations pseudonymise user ids: a fresh key per run,
	// so that the benchmark pays for it as production does.
	dir, err := os.MkdirTemp("", "pulsestreambench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, err
	}

	g, err := generator(cfg)
	if err != nil {
		return nil, err
	}

	// The job runs at most the publishing time plus a generous drain.
	runFor := cfg.Duration + cfg.IdleStop + 10*time.Minute
	args := []string{"--pipeline=" + cfg.Pipeline, "--input=" + sub.URL(),
		"--output=bigquery://" + project + "/" + dataset, "--pubsub_endpoint=" + st.PubSubAddr,
		"--bigquery_endpoint=" + st.BigQueryURL, "--pubsub_streams=" + strconv.Itoa(cfg.Streams),
		"--idle_stop=" + cfg.IdleStop.String(), "--run_for=" + runFor.String(), "--progress_every=1s",
		"--pseudonymize_key_file=" + keyFile}
	cmd := exec.CommandContext(ctx, cfg.Pulse, append(args, cfg.PulseArgs...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	obs := &observer{}
	log := cfg.Log
	if log != nil {
		log = &lockedWriter{w: log}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("streambench: start pulse: %w", err)
	}
	pipes := make(chan struct{}, 2)
	go func() { obs.follow(stdout, log); pipes <- struct{}{} }()
	go func() { obs.follow(stderr, log); pipes <- struct{}{} }()
	exited := make(chan error, 1)
	go func() {
		<-pipes
		<-pipes
		exited <- cmd.Wait()
	}()
	running := true
	defer func() {
		if running { // an error return: stop the job
			cmd.Process.Kill()
			<-exited
		}
	}()

	res := &Result{Config: cfg, LoadBefore: loadBefore}
	tr := NewTracker()
	pubDone := make(chan error, 1)
	res.Began = time.Now()
	go func() { pubDone <- publish(ctx, psc, topic, g, cfg, tr, res.Began, &res.Published) }()

	poll := time.NewTicker(cfg.Poll)
	defer poll.Stop()
	// Samples are taken on their own goroutine: a slow query must not
	// leave gaps in them.
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(cfg.Sample)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				obs.sample(cmd.Process.Pid, now)
			case <-stopSampling:
				return
			}
		}
	}()
	defer func() {
		select {
		case <-stopSampling:
		default:
			close(stopSampling)
			<-sampled
		}
	}()
	var jobErr error
	published := false
	var queryTotal time.Duration
	for running {
		select {
		case err := <-pubDone:
			if err != nil {
				return nil, err
			}
			published = true
			res.PublishEnd = time.Now()
			obs.sample(cmd.Process.Pid, res.PublishEnd)
			pubDone = nil
		case <-poll.C:
			if err := res.poll(ctx, bqc, tr, &queryTotal); err != nil {
				return nil, err
			}
		case jobErr = <-exited:
			running = false
		}
	}
	close(stopSampling)
	<-sampled
	res.JobEnd = time.Now()
	res.LoadAfter = LoadAverage()
	if !published {
		cancel() // the job is gone: stop publishing
		err := <-pubDone
		res.PublishEnd = res.JobEnd
		if jobErr == nil {
			jobErr = errors.New("the job ended before publishing did")
		}
		if err != nil {
			jobErr = errors.Join(jobErr, err)
		}
	}
	if jobErr != nil {
		// What was measured up to the failure is still returned: a long
		// run's RSS samples are worth having.
		jobErr = fmt.Errorf("streambench: pulse: %w", jobErr)
	}
	// A last look, now that the job has drained and written everything.
	if err := res.poll(ctx, bqc, tr, &queryTotal); err != nil {
		return nil, errors.Join(jobErr, err)
	}
	if res.Queries > 0 {
		res.QueryTime = queryTotal / time.Duration(res.Queries)
	}

	res.Samples, res.Summary = obs.snapshot()
	from := res.Began.Add(cfg.Warmup)
	res.Delays = tr.Summary(from)
	// The job is measured while it has work: from the warm-up's end to
	// when it had read everything published (when it keeps up, that is
	// the end of publishing; when not, the backlog's drain counts too, at
	// the job's full speed).
	res.CaughtUp = res.JobEnd
	for _, s := range res.Samples {
		if !s.At.After(res.PublishEnd) {
			res.Backlog = res.Published - s.Read
		}
		if !s.At.Before(res.PublishEnd) && s.Read >= res.Published {
			res.CaughtUp = s.At
			break
		}
	}
	if r, ok := rateBetween(res.Samples, from, res.CaughtUp); ok {
		res.Sustained = r
	}
	return res, jobErr
}

// generator returns a clean stream (no duplicates, late or malformed
// events, so that every event counts once in item_metrics) whose event
// time starts now and advances at about cfg.Rate events per second.
func generator(cfg Config) (*gen.Generator, error) {
	gc := gen.Config{Seed: cfg.Seed, Users: cfg.Users, Items: cfg.Items, Rate: cfg.Rate}
	if gc.Users == 0 {
		// A user rests 30 minutes between sessions: gen wants roughly 500
		// users per event/s, more at the day's peak.
		gc.Users = max(2000, int(cfg.Rate*1000))
	}
	// gen shapes its rate over the day (UTC); measure the shape at this
	// hour over two minutes of event time and scale the rate to the
	// target.
	start := time.Now().Truncate(time.Millisecond)
	gc.Start = start
	probe, err := gen.New(gc)
	if err != nil {
		return nil, fmt.Errorf("streambench: %w", err)
	}
	const span = 2 * time.Minute
	var buf []byte
	n := 0
	for probe.Now().Sub(start) < span {
		buf, _ = probe.Next(buf[:0])
		n++
	}
	if got := float64(n) / span.Seconds(); got > 0 {
		gc.Rate *= cfg.Rate / got
	}
	gc.Start = time.Now().Truncate(time.Millisecond)
	g, err := gen.New(gc)
	if err != nil {
		return nil, fmt.Errorf("streambench: %w", err)
	}
	return g, nil
}

// publish publishes g's events as their event times come due on the wall
// clock (from began), recording each publish time with tr, until
// cfg.Duration or cfg.Events, and waits for the server to accept them.
func publish(ctx context.Context, c *ps.Client, topic pubsub.Name, g *gen.Generator, cfg Config, tr *Tracker, began time.Time, count *int64) error {
	start := g.Now()
	var dec event.Decoder
	var e event.Event
	var stop error
	next := func() ([]byte, bool) {
		if cfg.Events > 0 && *count >= cfg.Events {
			return nil, false
		}
		line, _ := g.Next(nil)
		due := g.Now().Sub(start)
		if due >= cfg.Duration {
			return nil, false
		}
		if ahead := due - time.Since(began); ahead > time.Millisecond {
			select {
			case <-time.After(ahead):
			case <-ctx.Done():
				stop = ctx.Err()
				return nil, false
			}
		}
		if err := dec.Decode(line, &e); err != nil {
			stop = fmt.Errorf("streambench: generated event: %w", err)
			return nil, false
		}
		tr.Published(e.ItemID, e.EventTime, window, time.Now())
		*count++
		return line, true
	}
	if _, err := pubsub.Publish(ctx, c, topic, next); err != nil {
		return fmt.Errorf("streambench: %w", err)
	}
	return stop
}

// poll runs one query of item_metrics, if any event awaits one, and
// counts it.
func (res *Result) poll(ctx context.Context, c *bq.Client, tr *Tracker, total *time.Duration) error {
	d, ran, err := pollRows(ctx, c, tr)
	if ran {
		res.Queries++
		*total += d
	}
	return err
}

// lockedWriter serialises writes of the job's two output streams.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// itemCount is one answer row of pollRows' query.
type itemCount struct {
	ItemID      string    `bigquery:"item_id"`
	WindowStart time.Time `bigquery:"window_start"`
	Events      int64     `bigquery:"events"`
}

// pollRows queries the largest count of each item and window that still
// has events not yet shown, gives the answer to tr, and returns how long
// the query took; ran is false when no event awaited a query.
func pollRows(ctx context.Context, c *bq.Client, tr *Tracker) (took time.Duration, ran bool, err error) {
	since, ok := tr.Pending()
	if !ok {
		return 0, false, nil
	}
	q := c.Query(fmt.Sprintf("SELECT item_id, window_start, MAX(events) AS events FROM `%s.%s.item_metrics` "+
		"WHERE window_start >= TIMESTAMP_MILLIS(%d) GROUP BY item_id, window_start", project, dataset, since.UnixMilli()))
	began := time.Now()
	it, err := q.Read(ctx)
	if err != nil {
		return 0, true, fmt.Errorf("streambench: query item_metrics: %w", err)
	}
	counts := map[rowKey]int64{}
	for {
		var r itemCount
		err := it.Next(&r)
		if err == iterator.Done {
			break
		}
		if err != nil {
			return 0, true, fmt.Errorf("streambench: query item_metrics: %w", err)
		}
		counts[rowKey{r.ItemID, r.WindowStart.UnixMilli()}] = r.Events
	}
	ended := time.Now()
	tr.Observe(counts, began, ended)
	return ended.Sub(began), true, nil
}
