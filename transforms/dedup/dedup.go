// Package dedup drops repeated deliveries of the same event, so that counts
// over at-least-once sources such as Pub/Sub are exact.
//
// Events are spread over Shards keys by a hash of event_id. The first copy
// of an id is passed on; every later copy is dropped and counted (counter
// events_deduplicated), so that events_read = used + dead-lettered +
// de-duplicated reconciles. A shard remembers each id it let through until
// an event-time timer at the first copy's event time plus the horizon,
// rounded up to ExpiryGrain, forgets it. Exactly:
//
//   - A copy is dropped if an earlier copy of its id was processed and the
//     input watermark has not yet passed that earlier copy's event time plus
//     the horizon, rounded up to the second (the timer has not fired).
//   - A copy processed after that is not caught: it is passed on as a new
//     first copy and starts a new horizon. So is every copy of an event that
//     arrives more than the horizon behind the watermark, since its timer is
//     already due when it is set.
//   - Copies with different content are not compared: whichever copy the
//     runner processes first is kept, with its content, and the others are
//     dropped. For redeliveries that is the earlier delivery; for copies
//     that arrive together the choice is arbitrary.
//   - Ids are compared byte for byte; parse normalises them and rejects
//     empty ones.
//
// State grows with the ids seen within a horizon: each id once in its
// shard's bag, a timer per shard and second of expiries. A bundle costs a
// few state calls per shard rather than a read and an append per event,
// because the shard's ids are kept in the worker beside their state
// (transforms/pending): about 50 bytes per id in state and again in the
// worker, so 1 000 events/s over the default hour hold ~180 MB of each,
// and past pending.MaxCachedBytes on one worker every bundle re-reads its
// shard. The transform uses only bag and value state and
// event-time timers, which every portable runner (prism, Flink, Dataflow)
// supports.
package dedup

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	metro "github.com/dgryski/go-metro"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
)

// DefaultHorizon is the horizon Events uses when given none: long enough to
// cover Pub/Sub redelivery after an ack deadline or a worker restart.
const DefaultHorizon = time.Hour

// CounterDuplicates counts the copies Events dropped, in the "pulse"
// namespace.
const CounterDuplicates = "events_deduplicated"

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, int, []byte)](&shardFn{})
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, int, []byte, func(beam.EventTime, event.Event), error](&dedupFn{})
	register.Emitter2[beam.EventTime, event.Event]()
}

// Events returns events, a PCollection<event.Event> in the global window
// timestamped by event time, with repeated copies of an event_id dropped
// within horizon of the first copy's event time, as the package doc
// describes. A horizon under a millisecond means DefaultHorizon. Kept
// events keep their timestamp.
func Events(s beam.Scope, horizon time.Duration, events beam.PCollection) beam.PCollection {
	s = s.Scope("Dedup")
	ms := horizon.Milliseconds()
	if ms <= 0 {
		ms = DefaultHorizon.Milliseconds()
	}
	return beam.ParDo(s, newDedupFn(ms), beam.ParDo(s, &shardFn{}, events))
}

// Shards is how many keys the ids are spread over: the stateful stage's
// parallelism. Each key's state is read once per bundle, not per event.
const Shards = 16

// ExpiryGrain is what an id's expiry is rounded up to: one timer per
// second of expiries and shard, instead of one per id.
const ExpiryGrain = time.Second

// shardFn gathers a bundle's events by id shard, each with its timestamp:
// one element per shard and bundle reaches the stateful stage.
type shardFn struct {
	parts batch.Batcher[int]
}

func (fn *shardFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, int, []byte)) {
	fn.parts.Stamped = true
	if fn.parts.Add(int(metro.Hash64Str(e.EventID, 0)%Shards), int64(ts), &e) {
		fn.FinishBundle(emit)
	}
}

// FinishBundle stamps each batch with its earliest event's time, so that
// it is no later than any of them.
func (fn *shardFn) FinishBundle(emit func(beam.EventTime, int, []byte)) {
	fn.parts.Flush(func(k int, p batch.Part) { emit(mtime.FromMilliseconds(p.MinTS), k, p.Data) })
}

// dedupFn passes on the first copy of each id of a shard. The ids seen
// and not yet forgotten are a pending.Queue: each bundle adds a chunk of
// its first copies' ids per second their expiry falls in, due then, and a
// timer at that second takes the chunks and forgets their ids. The set of
// ids is kept beside the queue in the worker, so a bundle costs a few
// state calls per shard, not a read and an append per id; the queue
// rebuilds it from state when the worker's copy is stale.
type dedupFn struct {
	HorizonMillis int64 `json:"horizon_millis"`

	Seen      state.Bag[[]byte]
	SeenIndex state.Value[[]byte]
	Expiry    timers.EventTime

	queue   pending.Queue
	dropped int64
}

func newDedupFn(horizonMillis int64) *dedupFn {
	q := pending.Make("seen")
	return &dedupFn{
		HorizonMillis: horizonMillis,
		Seen:          q.Entries,
		SeenIndex:     q.Index,
		Expiry:        timers.InEventTime("expiry"),
	}
}

func (fn *dedupFn) state() pending.State {
	return pending.State{Entries: fn.Seen, Index: fn.SeenIndex}
}

// seenSet maps the ids a shard remembers to their expiry (Unix ms).
type seenSet map[string]int64

func (fn *dedupFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, shard int, b []byte, emit func(beam.EventTime, event.Event)) error {
	key := strconv.Itoa(shard)
	aux, err := fn.queue.Aux(sp, fn.state(), key)
	if err != nil {
		return err
	}
	seen, err := fn.seenOf(sp, key, aux)
	if err != nil {
		return err
	}
	chunks := map[int64][]byte{}
	err = batch.EachStamped(b, func(t int64, enc []byte) error {
		id, err := event.BinaryID(enc)
		if err != nil {
			return err
		}
		if _, dup := seen[string(id)]; dup {
			fn.dropped++
			return nil
		}
		var e event.Event
		if err := e.UnmarshalBinary(enc); err != nil {
			return err
		}
		exp := int64(expiry(mtime.Time(t), fn.HorizonMillis))
		seen[e.EventID] = exp
		due := int64(roundUp(mtime.Time(exp)))
		chunks[due] = appendSeen(chunks[due], id, exp)
		emit(mtime.Time(t), e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	items := make([]pending.Item, 0, len(chunks))
	for _, due := range slices.Sorted(maps.Keys(chunks)) {
		items = append(items, pending.Item{Due: due, Payload: chunks[due]})
		// The timer emits nothing, so it must not hold the watermark back.
		fn.Expiry.Set(tp, mtime.Time(due).ToTime(), timers.WithTag(strconv.FormatInt(due, 10)), timers.WithNoOutputTimestamp())
	}
	if err := fn.queue.AddAll(sp, fn.state(), key, items); err != nil {
		return err
	}
	fn.queue.SetAux(key, seen)
	return nil
}

// OnTimer forgets the ids whose expiry the watermark has passed. Beam
// requires it to take ProcessElement's emitters.
//
// The firing time is the tag: the Go SDK passes a timer's output
// timestamp as its event time, and these timers have none (the end of
// the global window), so taking that would forget every id at once.
func (fn *dedupFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, shard int, tc timers.Context, _ func(beam.EventTime, event.Event)) error {
	now, err := strconv.ParseInt(tc.Tag, 10, 64)
	if err != nil {
		return fmt.Errorf("dedup: expiry timer tag %q: %w", tc.Tag, err)
	}
	key := strconv.Itoa(shard)
	chunks, aux, err := fn.queue.Take(sp, fn.state(), key, now)
	if err != nil {
		return err
	}
	if aux == nil {
		// What is left in state is what is remembered.
		seen, err := fn.load(sp, key)
		if err != nil {
			return err
		}
		fn.queue.SetAux(key, seen)
		return nil
	}
	seen := aux.(seenSet)
	for _, c := range chunks {
		err := eachSeen(c, func(id []byte, exp int64) {
			// A later copy may have been let through, and remembered
			// anew, after an earlier expiry of the same id.
			if seen[string(id)] == exp {
				delete(seen, string(id))
			}
		})
		if err != nil {
			return err
		}
	}
	fn.queue.SetAux(key, seen)
	return nil
}

// seenOf is the shard's remembered ids: the worker's copy if the queue
// gave one back, else rebuilt from state.
func (fn *dedupFn) seenOf(sp state.Provider, key string, aux any) (seenSet, error) {
	if seen, ok := aux.(seenSet); ok {
		return seen, nil
	}
	return fn.load(sp, key)
}

// load rebuilds a shard's seen ids from its queue in state.
func (fn *dedupFn) load(sp state.Provider, key string) (seenSet, error) {
	chunks, err := fn.queue.Peek(sp, fn.state(), key)
	if err != nil {
		return nil, err
	}
	seen := seenSet{}
	for _, c := range chunks {
		if err := eachSeen(c, func(id []byte, exp int64) { seen[string(id)] = exp }); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// appendSeen appends an id and its expiry to a chunk.
func appendSeen(b, id []byte, exp int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return binary.AppendVarint(b, exp)
}

// eachSeen calls f with each id and expiry of a chunk.
func eachSeen(b []byte, f func(id []byte, exp int64)) error {
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return fmt.Errorf("dedup: corrupt seen ids")
		}
		id := b[k : k+int(n)]
		b = b[k+int(n):]
		exp, k := binary.Varint(b)
		if k <= 0 {
			return fmt.Errorf("dedup: corrupt seen ids")
		}
		b = b[k:]
		f(id, exp)
	}
	return nil
}

// expiry is ts plus horizon milliseconds, capped at the end of the global
// window, past which a timer cannot be set.
func expiry(ts beam.EventTime, horizonMillis int64) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if ts > end-mtime.Time(horizonMillis) {
		return end
	}
	return ts + mtime.Time(horizonMillis)
}

// roundUp is t rounded up to ExpiryGrain, capped at the end of the global
// window.
func roundUp(t mtime.Time) mtime.Time {
	g := mtime.Time(ExpiryGrain.Milliseconds())
	end := mtime.EndOfGlobalWindowTime
	if t > end-g {
		return end
	}
	return t + (g-((t%g)+g)%g)%g
}

// FinishBundle adds the bundle's drops to the counter once, as parse does,
// rather than updating it per element.
func (fn *dedupFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, event.Event)) {
	counter.Flush(ctx, CounterDuplicates, &fn.dropped)
}
