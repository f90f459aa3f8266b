package dedup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	metro "github.com/dgryski/go-metro"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(batch{}), encodeBatch, decodeBatch)
	register.Function1x1(encodeBatch)
	register.Function1x2(decodeBatch)
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, int, batch)](&liftFn{})
	register.Emitter3[beam.EventTime, int, batch]()
	register.DoFn5x1[context.Context, beam.EventTime, int, func(*batch) bool, func(beam.EventTime, event.Event), error](&replayFn{})
	register.Iter1[batch]()
}

// Replay is Events for bounded input, such as a replayed file: it groups
// events with a GroupByKey, which moves data in bulk, instead of keeping
// per-id state, which costs a runner round trip per event. Events are
// grouped by fixed event-time windows of size bucket and a shard of their
// id, and each group keeps one copy of each id. A grouped element is
// stamped with its window's end (the Go SDK offers no other timestamp
// combiner), and a re-stamp to an earlier time would make later windowing
// drop it as late; so kept events carry the time bucket's maximum
// timestamp, and bucket must divide every window size used downstream
// (which must take an event's own time from Event.EventTime). So Replay
// drops the copies of an event that fall in its bucket, as redeliveries
// (same event time) do, and keeps copies of an id in other buckets, which
// Events would drop within its horizon. Of copies with different content
// the smallest encoding is kept, so the result does not depend on arrival
// order. The output is in the global window. Use Events on unbounded input.
//
// The shuffle carries batches, not events: each bundle's events of one
// bucket and shard travel as one element (combiner lifting by hand), since
// the runner's cost is per element far more than per byte.
func Replay(s beam.Scope, bucket time.Duration, events beam.PCollection) beam.PCollection {
	s = s.Scope("DedupReplay")
	// Each WindowInto gets its own scope, so transform names do not depend
	// on the order of construction (stable names for Dataflow --update).
	batches := beam.ParDo(s, &liftFn{BucketMillis: bucket.Milliseconds()}, events)
	keyed := beam.WindowInto(s.Scope("IntoBuckets"), window.NewFixedWindows(bucket), batches)
	kept := beam.ParDo(s, &replayFn{}, beam.GroupByKey(s, keyed))
	return beam.WindowInto(s.Scope("IntoGlobal"), window.NewGlobalWindows(), kept)
}

// replayShards spreads a bucket's events over this many groups: enough to
// keep workers busy, few enough that the shuffle has few keys.
const replayShards = 64

// maxBatchBytes bounds the encoded events a bundle holds before it flushes
// its batches, so a bundle of a whole file does not hold the file.
const maxBatchBytes = 32 << 20

// batch is encoded events, each a uvarint length and event.AppendBinary's
// bytes.
type batch struct {
	data []byte
}

func encodeBatch(b batch) []byte { return b.data }

// decodeBatch keeps b: the SDK hands each decode a fresh slice.
func decodeBatch(b []byte) (batch, error) { return batch{data: b}, nil }

var errCorruptBatch = errors.New("dedup: corrupt event batch")

// next splits the first encoded event off b.
func (b *batch) next() ([]byte, error) {
	n, k := binary.Uvarint(b.data)
	if k <= 0 || n > uint64(len(b.data)-k) {
		return nil, errCorruptBatch
	}
	e := b.data[k : k+int(n)]
	b.data = b.data[k+int(n):]
	return e, nil
}

type liftKey struct {
	bucket int64
	shard  int
}

type pending struct {
	minTS int64
	data  []byte
}

// liftFn batches a bundle's events by time bucket and id shard. A batch is
// stamped with its earliest event's time: inside its bucket, so windowing
// puts it in its events' window, and not before any input of the bundle.
type liftFn struct {
	BucketMillis int64 `json:"bucket_millis"`

	parts   map[liftKey]*pending
	size    int
	scratch []byte
}

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, int, batch)) {
	if fn.parts == nil {
		fn.parts = make(map[liftKey]*pending)
	}
	t := int64(ts)
	r := t % fn.BucketMillis
	if r < 0 {
		r += fn.BucketMillis
	}
	k := liftKey{bucket: t - r, shard: int(metro.Hash64Str(e.EventID, 0) % replayShards)}
	p := fn.parts[k]
	if p == nil {
		p = &pending{minTS: t}
		fn.parts[k] = p
	}
	p.minTS = min(p.minTS, t)
	fn.scratch = e.AppendBinary(fn.scratch[:0])
	n := len(p.data)
	p.data = binary.AppendUvarint(p.data, uint64(len(fn.scratch)))
	p.data = append(p.data, fn.scratch...)
	fn.size += len(p.data) - n
	if fn.size >= maxBatchBytes {
		fn.flush(emit)
	}
}

func (fn *liftFn) FinishBundle(emit func(beam.EventTime, int, batch)) {
	fn.flush(emit)
}

func (fn *liftFn) flush(emit func(beam.EventTime, int, batch)) {
	for k, p := range fn.parts {
		emit(mtime.FromMilliseconds(p.minTS), k.shard, batch{data: p.data})
	}
	clear(fn.parts)
	fn.size = 0
}

// replayFn keeps one copy of each id of a bucket and shard.
type replayFn struct {
	kept    map[string][]byte
	dropped int64
}

func (fn *replayFn) ProcessElement(ctx context.Context, ts beam.EventTime, _ int, batches func(*batch) bool, emit func(beam.EventTime, event.Event)) error {
	if fn.kept == nil {
		fn.kept = make(map[string][]byte)
	}
	clear(fn.kept)
	var b batch
	for batches(&b) {
		for len(b.data) > 0 {
			enc, err := b.next()
			if err != nil {
				return err
			}
			id, err := event.BinaryID(enc)
			if err != nil {
				return err
			}
			if k, dup := fn.kept[string(id)]; !dup {
				fn.kept[string(id)] = enc
			} else {
				fn.dropped++
				if bytes.Compare(enc, k) < 0 {
					fn.kept[string(id)] = enc
				}
			}
		}
	}
	for _, enc := range fn.kept {
		var e event.Event
		if err := e.UnmarshalBinary(enc); err != nil {
			return err
		}
		emit(ts, e)
	}
	return nil
}

func (fn *replayFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event)) {
	counter.Flush(ctx, CounterDuplicates, &fn.dropped)
}
