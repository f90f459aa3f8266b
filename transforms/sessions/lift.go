package sessions

import (
	"cmp"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	metro "github.com/dgryski/go-metro"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// maxLifted bounds the hits a bundle holds before it flushes them.
const maxLifted = 1 << 20

// liftShards is the number of keys of a replay's GroupByKey: each carries
// a bundle's hits of its users as one element.
const liftShards = 256

// liftFn gathers a bundle's hits per user and its users per shard, so that
// the GroupByKey of a replay carries one element per shard and bundle
// rather than one per event. A batch is stamped with its earliest input's
// timestamp, not before any input of the bundle.
type liftFn struct {
	// Shards is the number of keys; zero means liftShards.
	Shards uint64 `json:"shards,omitempty"`

	users  map[string]*pendingHits
	shards map[uint64]*shardHits
	n      int
}

type pendingHits struct {
	minTS int64
	list  []hit
}

type shardHits struct {
	minTS int64
	batch hitBatch
}

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, hitBatch)) {
	if fn.users == nil {
		fn.users = make(map[string]*pendingHits)
	}
	u := fn.users[e.UserID]
	if u == nil {
		u = &pendingHits{minTS: int64(ts)}
		fn.users[e.UserID] = u
	}
	u.minTS = min(u.minTS, int64(ts))
	u.list = append(u.list, hitOf(&e))
	if fn.n++; fn.n >= maxLifted {
		fn.flush(emit)
	}
}

func (fn *liftFn) FinishBundle(emit func(beam.EventTime, string, hitBatch)) {
	fn.flush(emit)
}

func (fn *liftFn) flush(emit func(beam.EventTime, string, hitBatch)) {
	if fn.shards == nil {
		fn.shards = make(map[uint64]*shardHits)
	}
	for user, u := range fn.users {
		k := metro.Hash64Str(user, 0) % cmp.Or(fn.Shards, liftShards)
		sh := fn.shards[k]
		if sh == nil {
			sh = &shardHits{minTS: u.minTS}
			fn.shards[k] = sh
		}
		sh.minTS = min(sh.minTS, u.minTS)
		sh.batch.Users = append(sh.batch.Users, userHits{User: user, Hits: u.list})
	}
	for k, sh := range fn.shards {
		emit(mtime.FromMilliseconds(sh.minTS), strconv.FormatUint(k, 10), sh.batch)
	}
	clear(fn.users)
	clear(fn.shards)
	fn.n = 0
}
