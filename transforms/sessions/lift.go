package sessions

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// maxLifted bounds the hits a bundle holds before it flushes them.
const maxLifted = 1 << 20

// userHits are a bundle's hits of one user so far.
type userHits struct {
	minTS int64
	list  []hit
}

// liftFn gathers a bundle's hits per user, so that the GroupByKey of a
// replay carries one element per user and bundle rather than one per
// event. A batch is stamped with its earliest input's timestamp, not
// before any input of the bundle.
type liftFn struct {
	users map[string]*userHits
	n     int
}

func (fn *liftFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, hitBatch)) {
	if fn.users == nil {
		fn.users = make(map[string]*userHits)
	}
	u := fn.users[e.UserID]
	if u == nil {
		u = &userHits{minTS: int64(ts)}
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
	for user, u := range fn.users {
		emit(mtime.FromMilliseconds(u.minTS), user, hitBatch{List: u.list})
	}
	clear(fn.users)
	fn.n = 0
}
