package sessions

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/pending"
)

func init() {
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, hitBatch, func(Row), error](&streamFn{})
}

// MaxOpenHits bounds the hits Stream keeps per user for the user's open
// sessions. Only a user active without a gap for that many events, a bot,
// reaches it; the further hits of its open session are dropped from
// user_sessions (their events still count everywhere else) and counted
// (CounterHitsDropped), until the session closes.
const MaxOpenHits = 100_000

// CounterHitsDropped counts hits Stream dropped at MaxOpenHits, in the
// "pulse" namespace.
const CounterHitsDropped = "session_hits_dropped"

// StreamShards is how many keys Stream spreads users over: the stateful
// stage's parallelism. A key's state is read once per bundle, not per
// event.
const StreamShards = 16

// CloseGrain is what the time a session can close is rounded up to: one
// timer per shard and second, instead of one per user.
const CloseGrain = time.Second

// Stream computes user_sessions from an unbounded stream without session
// windows, which prism v2.77 merges wrongly under a moving watermark (see
// the package documentation). Users are spread over StreamShards keys; a
// stateful DoFn per shard holds the hits of its users' open sessions and
// an event-time timer at each second in which one of them could close
// (its last event plus gap). When a timer fires, the watermark has passed
// its time: every session whose last event is at least gap before it is
// complete, and is emitted as one final ON_TIME row; the other hits stay.
// A hit that arrives after its session was emitted starts a session of
// its own. At most MaxOpenHits hits are held per user. It uses Bag and
// Value state and one event-time timer family, so it runs on Flink.
func Stream(s beam.Scope, gap time.Duration, events beam.PCollection) beam.PCollection {
	return StreamWithLimit(s, gap, MaxOpenHits, events)
}

// StreamWithLimit is Stream holding at most maxHits hits per user.
func StreamWithLimit(s beam.Scope, gap time.Duration, maxHits int, events beam.PCollection) beam.PCollection {
	gap = gap.Truncate(time.Millisecond)
	if gap <= 0 {
		panic(fmt.Sprintf("sessions: gap %v is not a positive number of milliseconds", gap))
	}
	if maxHits < 1 {
		panic(fmt.Sprintf("sessions: maxHits %d is not positive", maxHits))
	}
	s = s.Scope("SessionsStream")
	return beam.ParDo(s, newStreamFn(gap, maxHits), beam.ParDo(s, &liftFn{Shards: StreamShards}, events))
}

// streamFn sessionises one shard's users. Hits and HitsIndex are a
// pending.Queue written as a log, in arrival order, of chunks of the hits
// each bundle held and of records of the sessions each firing closed; it
// is compacted to one chunk of the open hits when closed ones dominate.
// The shard's open hits and close schedule are kept in the worker beside
// the queue, and rebuilt from the log when that copy is stale.
type streamFn struct {
	GapMillis int64 `json:"gap_millis"`
	MaxHits   int64 `json:"max_hits"`

	Hits      state.Bag[[]byte]
	HitsIndex state.Value[[]byte]
	Close     timers.EventTime

	queue   pending.Queue
	fold    foldFn
	dropped int64
}

func newStreamFn(gap time.Duration, maxHits int) *streamFn {
	q := pending.Make("hits")
	return &streamFn{
		GapMillis: gap.Milliseconds(),
		MaxHits:   int64(maxHits),
		Hits:      q.Entries,
		HitsIndex: q.Index,
		Close:     timers.InEventTime("close"),
	}
}

func (fn *streamFn) log() pending.State {
	return pending.State{Entries: fn.Hits, Index: fn.HitsIndex}
}

// Kinds of log entry. Entries are never due: the log is only compacted.
const (
	logHits   = 'h' // encodeHits of a bundle's held hits
	logClosed = 'c' // (uvarint length, user, varint time)...: hits up to time closed
)

const neverDue = math.MaxInt64

// shard is a shard's open hits and when its users' sessions can close.
type shard struct {
	users map[string]*openUser
	due   dueHeap
	// stored and live count the hits the log holds and those still open:
	// the log is compacted when closed hits outnumber open ones.
	stored, live int
}

type openUser struct {
	hits []hit
	due  int64 // the rounded time its first session can close; 0: none
}

func (fn *streamFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, hb hitBatch, _ func(Row)) error {
	sh, err := fn.load(sp, tp, key)
	if err != nil {
		return err
	}
	held := hitBatch{Users: make([]userHits, 0, len(hb.Users))}
	for _, uh := range hb.Users {
		u := sh.users[uh.User]
		if u == nil {
			u = &openUser{}
			sh.users[uh.User] = u
		}
		n := len(u.hits)
		for _, h := range uh.Hits {
			if int64(len(u.hits)) >= fn.MaxHits {
				fn.dropped++
				continue
			}
			u.hits = append(u.hits, h)
			if at := fn.roundUp(h.Time + fn.GapMillis); u.due == 0 || at < u.due {
				fn.arm(tp, sh, uh.User, u, at)
			}
		}
		if len(u.hits) == 0 {
			delete(sh.users, uh.User)
		}
		if added := u.hits[n:]; len(added) > 0 {
			held.Users = append(held.Users, userHits{User: uh.User, Hits: added})
			sh.stored += len(added)
			sh.live += len(added)
		}
	}
	if len(held.Users) > 0 {
		item := pending.Item{Due: neverDue, Payload: append([]byte{logHits}, encodeHits(held)...)}
		if err := fn.queue.AddAll(sp, fn.log(), key, []pending.Item{item}); err != nil {
			return err
		}
	} else if err := fn.queue.Touch(sp, fn.log(), key); err != nil {
		return err
	}
	fn.queue.SetAux(key, sh)
	return nil
}

// OnTimer emits every session of the users due by now that has closed,
// and schedules their next.
func (fn *streamFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(Row)) error {
	now := int64(ts)
	sh, err := fn.load(sp, tp, key)
	if err != nil {
		return err
	}
	var closed []byte
	for len(sh.due) > 0 && sh.due[0].at <= now {
		d := heap.Pop(&sh.due).(dueUser)
		u := sh.users[d.user]
		if u == nil || u.due != d.at {
			continue // a stale entry: the user's schedule moved
		}
		n := len(u.hits)
		last, ok := fn.closeSessions(d.user, u, now, emit)
		if ok {
			closed = binary.AppendUvarint(closed, uint64(len(d.user)))
			closed = append(closed, d.user...)
			closed = binary.AppendVarint(closed, last)
			sh.live -= n - len(u.hits)
		}
		u.due = 0
		if len(u.hits) == 0 {
			delete(sh.users, d.user)
			continue
		}
		fn.arm(tp, sh, d.user, u, fn.roundUp(firstClose(u.hits, fn.GapMillis)))
	}
	switch {
	case sh.stored > 2*sh.live+1024:
		if err := fn.compact(sp, key, sh); err != nil {
			return err
		}
	case len(closed) > 0:
		item := pending.Item{Due: neverDue, Payload: append([]byte{logClosed}, closed...)}
		if err := fn.queue.AddAll(sp, fn.log(), key, []pending.Item{item}); err != nil {
			return err
		}
	default:
		// Timers were set: a retry must not find this copy current.
		if err := fn.queue.Touch(sp, fn.log(), key); err != nil {
			return err
		}
	}
	fn.queue.SetAux(key, sh)
	return nil
}

// closeSessions emits u's sessions that closed by now, oldest first, drops
// their hits and returns the time of the last one's last hit.
func (fn *streamFn) closeSessions(user string, u *openUser, now int64, emit func(Row)) (last int64, ok bool) {
	hits := u.hits
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.Time, b.Time) })
	start := 0
	for i := 1; i <= len(hits); i++ {
		if i < len(hits) && hits[i].Time-hits[i-1].Time < fn.GapMillis {
			continue
		}
		if hits[i-1].Time+fn.GapMillis > now {
			break // this session may still grow, and so may the later ones
		}
		r := fn.fold.row(user, hits[start:i])
		r.WindowStart = pane.FormatMillis(hits[start].Time)
		r.WindowEnd = pane.FormatMillis(hits[i-1].Time + fn.GapMillis)
		r.PaneTiming, r.PaneIndex, r.IsFinal = pane.OnTime, 0, true
		emit(r)
		last, ok = hits[i-1].Time, true
		start = i
	}
	if start > 0 {
		u.hits = slices.Clone(hits[start:]) // let the closed hits go
	}
	return last, ok
}

// firstClose is when the first session of hits (sorted) can close.
func firstClose(hits []hit, gap int64) int64 {
	i := 1
	for i < len(hits) && hits[i].Time-hits[i-1].Time < gap {
		i++
	}
	return hits[i-1].Time + gap
}

func (fn *streamFn) arm(tp timers.Provider, sh *shard, user string, u *openUser, at int64) {
	u.due = at
	heap.Push(&sh.due, dueUser{at: at, user: user})
	fn.Close.Set(tp, mtime.Time(at).ToTime(), timers.WithTag(strconv.FormatInt(at, 10)))
}

// roundUp is t rounded up to CloseGrain, capped at the end of the global
// window.
func (fn *streamFn) roundUp(t int64) int64 {
	g := CloseGrain.Milliseconds()
	end := int64(mtime.EndOfGlobalWindowTime)
	if t > end-g {
		return end
	}
	return t + (g-((t%g)+g)%g)%g
}

// compact replaces the log with one chunk of the open hits.
func (fn *streamFn) compact(sp state.Provider, key string, sh *shard) error {
	if _, _, err := fn.queue.Take(sp, fn.log(), key, neverDue); err != nil {
		return err
	}
	var open hitBatch
	for user, u := range sh.users {
		open.Users = append(open.Users, userHits{User: user, Hits: u.hits})
	}
	slices.SortFunc(open.Users, func(a, b userHits) int { return cmp.Compare(a.User, b.User) })
	sh.stored = sh.live
	if len(open.Users) == 0 {
		return nil
	}
	item := pending.Item{Due: neverDue, Payload: append([]byte{logHits}, encodeHits(open)...)}
	return fn.queue.AddAll(sp, fn.log(), key, []pending.Item{item})
}

// load returns the shard's worker copy, rebuilt from the log when stale.
// A rebuilt schedule sets a timer for each user: the timer a user was
// last armed for may be earlier than its first session's close now.
func (fn *streamFn) load(sp state.Provider, tp timers.Provider, key string) (*shard, error) {
	aux, err := fn.queue.Aux(sp, fn.log(), key)
	if err != nil {
		return nil, err
	}
	if sh, ok := aux.(*shard); ok {
		return sh, nil
	}
	entries, err := fn.queue.Peek(sp, fn.log(), key)
	if err != nil {
		return nil, err
	}
	sh := &shard{users: map[string]*openUser{}}
	for _, b := range entries {
		if len(b) == 0 {
			return nil, fmt.Errorf("sessions: empty log entry")
		}
		switch b[0] {
		case logHits:
			hb, err := decodeHits(b[1:])
			if err != nil {
				return nil, err
			}
			for _, uh := range hb.Users {
				u := sh.users[uh.User]
				if u == nil {
					u = &openUser{}
					sh.users[uh.User] = u
				}
				u.hits = append(u.hits, uh.Hits...)
				sh.stored += len(uh.Hits)
			}
		case logClosed:
			err := eachClosed(b[1:], func(user string, last int64) {
				if u := sh.users[user]; u != nil {
					u.hits = slices.DeleteFunc(u.hits, func(h hit) bool { return h.Time <= last })
				}
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("sessions: log entry of kind %q", b[0])
		}
	}
	for user, u := range sh.users {
		if len(u.hits) == 0 {
			delete(sh.users, user)
			continue
		}
		sh.live += len(u.hits)
		slices.SortFunc(u.hits, func(a, b hit) int { return cmp.Compare(a.Time, b.Time) })
		fn.arm(tp, sh, user, u, fn.roundUp(firstClose(u.hits, fn.GapMillis)))
	}
	return sh, nil
}

// eachClosed calls f with each record of a logClosed entry.
func eachClosed(b []byte, f func(user string, last int64)) error {
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errCorrupt
		}
		user := string(b[k : k+int(n)])
		b = b[k+int(n):]
		last, k := binary.Varint(b)
		if k <= 0 {
			return errCorrupt
		}
		b = b[k:]
		f(user, last)
	}
	return nil
}

// FinishBundle adds the bundle's dropped hits to the counter once. Beam
// requires it to take ProcessElement's emitters.
func (fn *streamFn) FinishBundle(ctx context.Context, _ func(Row)) {
	counter.Flush(ctx, CounterHitsDropped, &fn.dropped)
}

// dueUser is a user scheduled to be checked at a time.
type dueUser struct {
	at   int64
	user string
}

// dueHeap orders scheduled users by time; entries a user's schedule has
// moved past stay until popped, and are skipped then.
type dueHeap []dueUser

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].user < h[j].user
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueUser)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
