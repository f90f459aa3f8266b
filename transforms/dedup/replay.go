package dedup

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	metro "github.com/dgryski/go-metro"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, int, []byte)](&liftFn{})
	register.Emitter3[beam.EventTime, int, []byte]()
	register.DoFn5x1[context.Context, beam.EventTime, int, func(*[]byte) bool, func(beam.EventTime, event.Event), error](&replayFn{})
	register.Iter1[[]byte]()
	register.DoFn3x0[int, []byte, func(int, []byte)](&partFn{})
	register.Emitter2[int, []byte]()
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
	return ReplayParts(s, bucket, 1, events)[0]
}

// ReplayParts is Replay with its output split into n parts by shard of
// event id (see package parts): each part's grouping, and whatever the
// caller fuses after it, runs as a stage of its own. events may come in
// parts too (source.LinesParts): each is lifted on its own and the
// lifted batches are flattened. n below 2 means one part, named as
// Replay's.
func ReplayParts(s beam.Scope, bucket time.Duration, n int, events ...beam.PCollection) []beam.PCollection {
	s = s.Scope("DedupReplay")
	lifted := make([]beam.PCollection, len(events))
	for i, ev := range events {
		ls := s
		if len(events) > 1 {
			ls = s.Scope(fmt.Sprintf("Input%d", i))
		}
		lifted[i] = beam.ParDo(ls, &liftFn{BucketMillis: bucket.Milliseconds()}, ev)
	}
	if n < 2 {
		return []beam.PCollection{replayPart(s, bucket, nil, lifted)}
	}
	out := make([]beam.PCollection, n)
	for i := range out {
		out[i] = replayPart(s.Scope(fmt.Sprintf("Part%d", i)), bucket, &partFn{Part: i, Parts: n}, lifted)
	}
	return out
}

// replayPart keeps, of the lifted batches (only the shards of part, if
// not nil), one copy of each id per bucket and shard. Batches are
// windowed before they are flattened: on prism a DoFn after a Flatten is
// a stage of its own.
func replayPart(s beam.Scope, bucket time.Duration, part *partFn, lifted []beam.PCollection) beam.PCollection {
	// Each WindowInto gets its own scope, so transform names do not depend
	// on the order of construction (stable names for Dataflow --update).
	keyed := make([]beam.PCollection, len(lifted))
	for i, b := range lifted {
		ks := s
		if len(lifted) > 1 {
			ks = s.Scope(fmt.Sprintf("Input%d", i))
		}
		if part != nil {
			b = beam.ParDo(ks, part, b)
		}
		keyed[i] = beam.WindowInto(ks.Scope("IntoBuckets"), window.NewFixedWindows(bucket), b)
	}
	kept := beam.ParDo(s, &replayFn{}, beam.GroupByKey(s, beam.Flatten(s, keyed...)))
	return beam.WindowInto(s.Scope("IntoGlobal"), window.NewGlobalWindows(), kept)
}

// partFn passes on the batches of one part's shards.
type partFn struct {
	Part  int `json:"part"`
	Parts int `json:"parts"`
}

func (fn *partFn) ProcessElement(shard int, b []byte, emit func(int, []byte)) {
	if shard%fn.Parts == fn.Part {
		emit(shard, b)
	}
}

// replayShards spreads a bucket's events over this many groups: enough to
// keep workers busy, few enough that the shuffle has few keys.
const replayShards = 64

// liftKey is a time bucket and an id shard: a batch's GroupByKey key
// and window.
type liftKey struct {
	bucket int64
	shard  int
}

// liftFn batches a bundle's events by time bucket and id shard. A batch is
// stamped with its earliest event's time: inside its bucket, so windowing
// puts it in its events' window, and not before any input of the bundle.
type liftFn struct {
	BucketMillis int64 `json:"bucket_millis"`

	parts batch.Batcher[liftKey]
}

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, int, []byte)) {
	t := int64(ts)
	k := liftKey{bucket: batch.Start(t, fn.BucketMillis), shard: int(metro.Hash64Str(e.EventID, 0) % replayShards)}
	if fn.parts.Add(k, t, &e) {
		fn.FinishBundle(emit)
	}
}

func (fn *liftFn) FinishBundle(emit func(beam.EventTime, int, []byte)) {
	fn.parts.Flush(func(k liftKey, p batch.Part) {
		emit(mtime.FromMilliseconds(p.MinTS), k.shard, p.Data)
	})
}

// replayFn keeps one copy of each id of a bucket and shard.
type replayFn struct {
	kept    map[string][]byte
	dropped int64
}

func (fn *replayFn) ProcessElement(ctx context.Context, ts beam.EventTime, _ int, batches func(*[]byte) bool, emit func(beam.EventTime, event.Event)) error {
	if fn.kept == nil {
		fn.kept = make(map[string][]byte)
	}
	clear(fn.kept)
	var b []byte
	for batches(&b) {
		err := batch.Each(b, func(enc []byte) error {
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
			return nil
		})
		if err != nil {
			return fmt.Errorf("dedup: %w", err)
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
