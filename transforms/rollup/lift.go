package rollup

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/parts"
)

// Why not beam.CombinePerKey: the Go SDK's combine nodes drop the pane of
// their input (apache/beam#31153 was fixed for ParDo only), so every
// combined row would claim to be an EARLY, non-final pane. Instead Pulse
// lifts by hand: a DoFn folds events into partial Metrics per key and
// bucket within a bundle, the partials are windowed and grouped (GBK keeps
// panes), and a DoFn merges them. The shuffle carries one partial per key,
// bucket and bundle instead of every event, as combiner lifting would.

// Field names the key events are grouped by.
type Field string

// Keys events can be aggregated by.
const (
	ByItem     Field = "item_id"
	ByCategory Field = "category"
	ByUser     Field = "user_id"
	// Global puts every event under the key "global".
	Global Field = "global"
)

// GlobalKey is the key of Global aggregates.
const GlobalKey = "global"

// Key returns e's value of field f.
func (f Field) Key(e *event.Event) string {
	switch f {
	case ByItem:
		return e.ItemID
	case ByCategory:
		return e.Category
	case ByUser:
		return e.UserID
	}
	return GlobalKey
}

// Windowing is how aggregates are windowed and triggered.
type Windowing struct {
	// Fn is the window function: fixed or sliding windows. Merging windows
	// (sessions) cannot be pre-aggregated by bucket.
	Fn *window.Fn
	// Options are the trigger, accumulation mode and allowed lateness.
	Options []beam.WindowIntoOption
}

// bucket is the span whose events always share every window: the size of
// fixed windows, the period of sliding ones.
func (w Windowing) bucket() (time.Duration, error) {
	switch w.Fn.Kind {
	case window.FixedWindows:
		return w.Fn.Size, nil
	case window.SlidingWindows:
		if w.Fn.Size%w.Fn.Period != 0 {
			return 0, fmt.Errorf("rollup: sliding window size %v is not a multiple of its period %v", w.Fn.Size, w.Fn.Period)
		}
		return w.Fn.Period, nil
	}
	return 0, fmt.Errorf("rollup: window kind %v cannot be pre-aggregated", w.Fn.Kind)
}

// maxPartials bounds the partials a bundle holds before it flushes them.
const maxPartials = 1 << 16

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, Metrics)](&partialFn{})
	register.Emitter3[beam.EventTime, string, Metrics]()
	register.DoFn3x0[string, func(*Metrics) bool, func(string, Metrics)](&mergeFn{})
	register.Iter1[Metrics]()
	register.Emitter2[string, Metrics]()
}

// PerKey aggregates events, a PCollection<event.Event> in the global
// window timestamped by event time, into a PCollection<KV<string, Metrics>>
// with one element per key, window and pane. Downstream DoFns see each
// element's window and pane.
func PerKey(s beam.Scope, by Field, w Windowing, events ...beam.PCollection) (beam.PCollection, error) {
	bucket, err := w.bucket()
	if err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("Rollup." + string(by))
	// Windowed before the parts are flattened: on prism a DoFn after a
	// Flatten is a stage of its own, which would carry every partial again.
	windowed := parts.Apply(s, events, func(s beam.Scope, events beam.PCollection) beam.PCollection {
		partials := beam.ParDo(s, &partialFn{By: by, BucketMillis: bucket.Milliseconds()}, events)
		return beam.WindowInto(s, w.Fn, partials, w.Options...)
	})
	return beam.ParDo(s, &mergeFn{}, beam.GroupByKey(s, windowed)), nil
}

type partialKey struct {
	key    string
	bucket int64
}

type partial struct {
	m     Metrics
	minTS int64
}

// partialFn folds a bundle's events into partials. Each partial is stamped
// with its earliest event's time: that is inside its bucket, so windowing
// puts it in the same windows as its events, and not before any input of
// the bundle, so it is no later than they were.
type partialFn struct {
	By           Field `json:"by"`
	BucketMillis int64 `json:"bucket_millis"`

	parts map[partialKey]*partial
}

func (fn *partialFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, Metrics)) {
	if fn.parts == nil {
		fn.parts = make(map[partialKey]*partial)
	}
	t := int64(ts)
	k := partialKey{key: fn.By.Key(&e), bucket: t - mod(t, fn.BucketMillis)}
	p := fn.parts[k]
	if p == nil {
		if len(fn.parts) >= maxPartials {
			fn.flush(emit)
		}
		p = &partial{minTS: t}
		fn.parts[k] = p
	}
	p.minTS = min(p.minTS, t)
	p.m.Add(&e)
}

func (fn *partialFn) FinishBundle(emit func(beam.EventTime, string, Metrics)) {
	fn.flush(emit)
}

func (fn *partialFn) flush(emit func(beam.EventTime, string, Metrics)) {
	for k, p := range fn.parts {
		emit(mtime.FromMilliseconds(p.minTS), k.key, p.m)
	}
	clear(fn.parts)
}

func mod(t, n int64) int64 {
	r := t % n
	if r < 0 {
		r += n
	}
	return r
}

// mergeFn merges the partials of one key, window and pane.
type mergeFn struct{}

func (mergeFn) ProcessElement(key string, parts func(*Metrics) bool, emit func(string, Metrics)) {
	var m, p Metrics
	for parts(&p) {
		m.Merge(&p)
		p = Metrics{}
	}
	emit(key, m)
}
