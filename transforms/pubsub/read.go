package pubsub

import (
	"context"
	"fmt"
	"time"

	ps "cloud.google.com/go/pubsub/v2"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/progress"
	"github.com/pulse-analytics/pulse/transforms/source"
)

func init() {
	register.DoFn5x2[context.Context, *watermarkEstimator, *sdf.LockRTracker, []byte,
		func(beam.EventTime, source.Message), sdf.ProcessContinuation, error](&readFn{})
	register.Emitter2[beam.EventTime, source.Message]()
}

// Watermark policies.
const (
	// WatermarkEvent timestamps each message with its event's own
	// event_time; the watermark trails the largest event time seen by
	// MaxSkew and holds while the subscription is idle. Use it for
	// replays and for producers whose clocks are trusted.
	WatermarkEvent = "event"
	// WatermarkPublish timestamps each message with its publish time; the
	// watermark trails the newest publish time by MaxSkew and follows the
	// wall clock while idle, so windows close on a quiet stream. Events
	// older than the watermark are late.
	WatermarkPublish = "publish"
)

// ReadConfig configures Read.
type ReadConfig struct {
	// Subscription to read.
	Subscription Name
	// Endpoint is host:port of a Pub/Sub emulator or fake; empty for
	// Google Cloud (or $PUBSUB_EMULATOR_HOST).
	Endpoint string
	// Watermark is WatermarkEvent (default) or WatermarkPublish.
	Watermark string
	// MaxSkew is how far the watermark trails the newest timestamp seen
	// (default 5s): events at most this much out of order are on time.
	MaxSkew time.Duration
	// MaxOutstanding bounds messages received and not yet acknowledged,
	// per worker process (flow control; default 10000).
	MaxOutstanding int
	// Streams is the number of streaming-pull connections per worker
	// process (default 4). The pstest fake sends one message per stream
	// every 10 ms, so tests against it want many.
	Streams int
	// MaxBatch bounds the messages of one bundle (default 1000).
	MaxBatch int
	// Readers is the number of parallel readers (default 1); each can run
	// on its own worker.
	Readers int
	// IdleStop, when positive, ends the read (and so lets a streaming
	// pipeline drain and finish) once no message has arrived for this
	// long and every received message is acknowledged.
	IdleStop time.Duration
	// StopAt, when set, ends the read at this wall-clock time.
	StopAt time.Time
}

// Validate reports the first invalid setting.
func (c ReadConfig) Validate() error {
	switch c.Watermark {
	case "", WatermarkEvent, WatermarkPublish:
	default:
		return fmt.Errorf("pubsub watermark %q: want %s or %s", c.Watermark, WatermarkEvent, WatermarkPublish)
	}
	if c.MaxSkew < 0 || c.MaxOutstanding < 0 || c.MaxBatch < 0 || c.Streams < 0 || c.Readers < 0 || c.IdleStop < 0 {
		return fmt.Errorf("pubsub read: negative setting in %+v", c)
	}
	if c.Subscription.Kind != "subscriptions" {
		return fmt.Errorf("pubsub read: %q is not a subscription", c.Subscription)
	}
	return nil
}

// Read returns the messages of a subscription as an unbounded
// PCollection<source.Message>, timestamped as cfg.Watermark says.
func Read(s beam.Scope, cfg ReadConfig) beam.PCollection {
	s = s.Scope("ReadPubSub")
	fn := &readFn{
		Project: cfg.Subscription.Project, Sub: cfg.Subscription.ID, Endpoint: cfg.Endpoint,
		Watermark: cfg.Watermark, MaxSkewMs: cfg.MaxSkew.Milliseconds(),
		MaxOutstanding: cfg.MaxOutstanding, MaxBatch: cfg.MaxBatch, Streams: cfg.Streams, Readers: cfg.Readers,
		IdleStopMs: cfg.IdleStop.Milliseconds(),
	}
	if !cfg.StopAt.IsZero() {
		fn.StopAtMs = cfg.StopAt.UnixMilli()
	}
	fn.defaults()
	return beam.ParDo(s, fn, beam.Impulse(s))
}

// pollWait is how long a reader waits for a first message before it
// returns its (empty) bundle; a bundle never waits once it has messages.
const pollWait = 200 * time.Millisecond

type readFn struct {
	Project        string `json:"project"`
	Sub            string `json:"sub"`
	Endpoint       string `json:"endpoint"`
	Watermark      string `json:"watermark"`
	MaxSkewMs      int64  `json:"max_skew_ms"`
	MaxOutstanding int    `json:"max_outstanding"`
	MaxBatch       int    `json:"max_batch"`
	Streams        int    `json:"streams"`
	Readers        int    `json:"readers"`
	IdleStopMs     int64  `json:"idle_stop_ms"`
	StopAtMs       int64  `json:"stop_at_ms"`

	r   *receiver
	dec event.Decoder
}

func (fn *readFn) defaults() {
	if fn.Watermark == "" {
		fn.Watermark = WatermarkEvent
	}
	if fn.MaxSkewMs == 0 {
		fn.MaxSkewMs = 5000
	}
	if fn.MaxOutstanding == 0 {
		fn.MaxOutstanding = 10000
	}
	if fn.MaxBatch == 0 {
		fn.MaxBatch = 1000
	}
	if fn.Streams == 0 {
		fn.Streams = 4
	}
	if fn.Readers == 0 {
		fn.Readers = 1
	}
}

func (fn *readFn) name() Name { return Name{Project: fn.Project, Kind: "subscriptions", ID: fn.Sub} }

func (fn *readFn) Setup() error {
	r, err := acquire(fn.Endpoint, fn.name(), fn.MaxOutstanding, fn.Streams)
	if err != nil {
		return err
	}
	fn.r = r
	return nil
}

func (fn *readFn) Teardown() {
	if fn.r != nil {
		release(fn.Endpoint, fn.name())
		fn.r = nil
	}
}

func (fn *readFn) CreateInitialRestriction(_ []byte) Restriction { return Restriction{} }

// SplitRestriction makes one restriction per reader.
func (fn *readFn) SplitRestriction(_ []byte, _ Restriction) []Restriction {
	rs := make([]Restriction, fn.Readers)
	for i := range rs {
		rs[i].Reader = i
	}
	return rs
}

func (fn *readFn) RestrictionSize(_ []byte, r Restriction) float64 {
	if r.Done {
		return 0
	}
	return 1
}

func (fn *readFn) CreateTracker(r Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&tracker{rest: r})
}

// TruncateRestriction ends a reader when the pipeline drains.
func (fn *readFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) Restriction {
	r := rt.GetRestriction().(Restriction)
	r.Done = true
	return r
}

func (fn *readFn) InitialWatermarkEstimatorState(et beam.EventTime, _ Restriction, _ []byte) int64 {
	return int64(et)
}

func (fn *readFn) CreateWatermarkEstimator(ms int64) *watermarkEstimator {
	return &watermarkEstimator{ms: ms}
}

func (fn *readFn) WatermarkEstimatorState(we *watermarkEstimator) int64 { return we.ms }

func (fn *readFn) ProcessElement(ctx context.Context, we *watermarkEstimator, rt *sdf.LockRTracker, _ []byte, emit func(beam.EventTime, source.Message)) (sdf.ProcessContinuation, error) {
	rest := rt.GetRestriction().(Restriction)
	// Resumed: the bundle that emitted the pending batch has completed and
	// the runner has accepted its outputs with this residual.
	fn.r.settle(fn.r.takePending(rest.Reader), true)
	if fn.StopAtMs > 0 && time.Now().UnixMilli() >= fn.StopAtMs {
		return fn.stop(rt)
	}
	if !rt.TryClaim(rest.Next) {
		return sdf.StopProcessing(), rt.GetError()
	}
	batch, err := fn.collect(ctx)
	if err != nil {
		return sdf.StopProcessing(), err
	}
	for _, m := range batch {
		ts, moves := fn.timestamp(m, we)
		emit(mtime.Time(ts), source.Message{ID: m.ID, Data: m.Data, Attributes: m.Attributes, PublishMillis: m.PublishTime.UnixMilli()})
		if moves {
			we.advance(ts - fn.MaxSkewMs)
		}
	}
	if len(batch) == 0 && fn.Watermark == WatermarkPublish {
		we.advance(time.Now().UnixMilli() - fn.MaxSkewMs)
	}
	if we.ms > int64(mtime.MinTimestamp) {
		progress.ObserveWatermark(we.CurrentWatermark())
	}
	if len(batch) == 0 {
		if fn.idle() {
			return fn.stop(rt)
		}
		return sdf.ResumeProcessingIn(0), nil
	}
	fn.r.addPending(rest.Reader, batch)
	return sdf.ResumeProcessingIn(0), nil
}

// timestamp is m's element timestamp, in milliseconds, and whether it may
// move the watermark. Under WatermarkEvent a message with no readable
// event_time (it is headed for the dead letter) takes the newest event
// time this reader has seen, or its publish time if it is the first, and
// leaves the watermark alone: the publisher's clock says nothing about the
// events' times, and a stream of older events, such as a replayed history,
// would otherwise see its watermark jump to the present at the first
// malformed message, and every later event arrive late.
func (fn *readFn) timestamp(m *ps.Message, we *watermarkEstimator) (int64, bool) {
	if fn.Watermark != WatermarkEvent {
		return m.PublishTime.UnixMilli(), true
	}
	var e event.Event
	if fn.dec.Decode(m.Data, &e) == nil {
		return e.EventTime, true
	}
	if we.ms > int64(mtime.MinTimestamp) {
		return we.ms + fn.MaxSkewMs, false
	}
	return m.PublishTime.UnixMilli(), false
}

// collect waits up to pollWait for a first message, then takes what is
// already buffered, up to MaxBatch.
func (fn *readFn) collect(ctx context.Context) ([]*ps.Message, error) {
	t := time.NewTimer(pollWait)
	defer t.Stop()
	var batch []*ps.Message
	select {
	case m := <-fn.r.msgs:
		batch = append(batch, m)
	case <-fn.r.done:
		if fn.r.err != nil {
			return nil, fn.r.err
		}
		return nil, nil
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(batch) < fn.MaxBatch {
		select {
		case m := <-fn.r.msgs:
			batch = append(batch, m)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// idle reports whether IdleStop has passed with nothing received and
// nothing left to acknowledge.
func (fn *readFn) idle() bool {
	if fn.IdleStopMs <= 0 || fn.r.outstanding.Load() != 0 || len(fn.r.msgs) != 0 {
		return false
	}
	return time.Since(time.Unix(0, fn.r.lastNanos.Load())) >= time.Duration(fn.IdleStopMs)*time.Millisecond
}

func (fn *readFn) stop(rt *sdf.LockRTracker) (sdf.ProcessContinuation, error) {
	rt.Mu.Lock()
	rt.Rt.(*tracker).stop()
	rt.Mu.Unlock()
	return sdf.StopProcessing(), nil
}
