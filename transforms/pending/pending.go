// Package pending keeps, per key of a stateful DoFn, the byte batches
// that wait for an event time (a batch's end, a merge boundary), in the
// state every runner has (a Bag and a Value), with a worker-side copy
// that spares reading them back at every timer.
//
// A DoFn that buffers batches in a Bag until their timers fire reads the
// whole Bag at every firing. On a bounded input every batch of a key is
// buffered before its first timer fires, so the bytes read grow with the
// square of the batches per key: the learn job moved ~40 GB through the
// Fn API on 1 M events that way.
//
// The Bag holds the entries (sequence number, due time, payload), added
// once and rewritten only when compacted; the Value holds the index: a
// random token, the next sequence number and the entries taken but still
// in the Bag. Every change writes a new token. A Queue keeps each key's
// live entries beside the token it last wrote; while the Value holds that
// token, the Bag holds exactly those entries and is not read. State stays
// the only authority: a bundle retried after a failure sees the token
// rolled back, misses and reads the Bag.
package pending

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
)

// MaxCachedBytes bounds the payload bytes a Queue keeps in memory; beyond
// it keys are evicted and read from state at their next call, which is
// correct but slow: a queue that holds more than this (de-duplication's
// ids of a long horizon at a high rate) is re-read every bundle. Values
// given to SetAux are not counted.
const MaxCachedBytes = 1 << 30

// State is a key's queue in Beam state. Beam finds state only in a DoFn's
// own fields, so the DoFn declares both and passes them in.
type State struct {
	Entries state.Bag[[]byte]
	Index   state.Value[[]byte]
}

// Make returns the State with ids name and name+"_index".
func Make(name string) State {
	return State{Entries: state.MakeBagState[[]byte](name), Index: state.MakeValueState[[]byte](name + "_index")}
}

// Queue is a DoFn instance's copy of its keys' queues. The zero value is
// ready. It is not safe for concurrent use, as a DoFn instance is not.
type Queue struct {
	keys   map[string]*keyQueue
	cached int // payload bytes held

	// Hits and Misses count Take's index checks: a miss reads the Bag.
	Hits, Misses int64
}

type entry struct {
	seq uint64
	due int64
	raw []byte // the Bag element; the payload is its tail
	pay []byte
}

type index struct {
	token  uint64
	next   uint64
	stored uint64   // entries in the Bag, taken or not
	taken  []uint64 // sequence numbers taken but still stored
}

type keyQueue struct {
	idx  index
	live []entry // in arrival order
	size int
	aux  any
}

// Touch writes key's index with a new token and nothing else: for a
// caller whose worker-side data changed in ways the queue does not see
// (timers it set), so that a retry of the bundle finds its copy stale.
func (q *Queue) Touch(sp state.Provider, s State, key string) error {
	idx, kq, err := q.index(sp, s, key)
	if err != nil {
		return err
	}
	if err := q.writeIndex(sp, s, &idx); err != nil {
		return err
	}
	if kq != nil {
		kq.idx = idx
	}
	return nil
}

// Item is an entry to add: a payload due at an event time (Unix ms).
type Item struct {
	Due     int64
	Payload []byte
}

// Add appends payload, due at event time due (Unix ms), to key's queue.
func (q *Queue) Add(sp state.Provider, s State, key string, due int64, payload []byte) error {
	return q.AddAll(sp, s, key, []Item{{Due: due, Payload: payload}})
}

// AddAll appends items to key's queue in order, writing its index once.
func (q *Queue) AddAll(sp state.Provider, s State, key string, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	idx, kq, err := q.index(sp, s, key)
	if err != nil {
		return err
	}
	added := make([]entry, 0, len(items))
	for _, it := range items {
		raw := binary.AppendUvarint(nil, idx.next)
		raw = binary.AppendVarint(raw, it.Due)
		hdr := len(raw)
		raw = append(raw, it.Payload...)
		if err := s.Entries.Add(sp, raw); err != nil {
			return fmt.Errorf("pending: add: %w", err)
		}
		added = append(added, entry{seq: idx.next, due: it.Due, raw: raw, pay: raw[hdr:]})
		idx.next++
		idx.stored++
	}
	if err := q.writeIndex(sp, s, &idx); err != nil {
		return err
	}
	if kq != nil {
		kq.idx = idx
		for _, e := range added {
			kq.live = append(kq.live, e)
			kq.size += len(e.pay)
			q.cached += len(e.pay)
		}
		q.evict(key)
	}
	return nil
}

// Take removes from key's queue the entries due at or before ts and
// returns their payloads, by due time then arrival, with the value last
// given to SetAux for key if the cache was current (else nil).
//
// Take writes the index, so a caller that keeps data of its own beside
// the queue (aux) writes that data's state in the same bundle: then a
// rolled-back bundle rolls back the token too, and aux is dropped.
func (q *Queue) Take(sp state.Provider, s State, key string, ts int64) (payloads [][]byte, aux any, err error) {
	idx, kq, err := q.index(sp, s, key)
	if err != nil {
		return nil, nil, err
	}
	hit := kq != nil
	if hit {
		q.Hits++
		aux = kq.aux
	} else {
		q.Misses++
		if kq, err = q.load(sp, s, idx); err != nil {
			return nil, nil, err
		}
	}
	var due, rest []entry
	for _, e := range kq.live {
		if e.due <= ts {
			due = append(due, e)
		} else {
			rest = append(rest, e)
		}
	}
	slices.SortFunc(due, func(a, b entry) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.seq, b.seq)) })
	payloads = make([][]byte, len(due))
	for i, e := range due {
		payloads[i] = e.pay
		kq.size -= len(e.pay)
		if hit {
			q.cached -= len(e.pay)
		}
		idx.taken = append(idx.taken, e.seq)
	}
	// Compact when the Bag holds more taken entries than live ones:
	// each rewrite copies at most as many entries as were taken since
	// the last, so rewriting costs O(1) per entry.
	switch {
	case len(rest) == 0 && idx.stored > 0:
		if err := s.Entries.Clear(sp); err != nil {
			return nil, nil, fmt.Errorf("pending: clear: %w", err)
		}
		idx.stored, idx.taken, idx.next = 0, nil, 0
	case len(idx.taken) > len(rest):
		if err := s.Entries.Clear(sp); err != nil {
			return nil, nil, fmt.Errorf("pending: clear: %w", err)
		}
		for _, e := range rest {
			if err := s.Entries.Add(sp, e.raw); err != nil {
				return nil, nil, fmt.Errorf("pending: compact: %w", err)
			}
		}
		idx.stored, idx.taken = uint64(len(rest)), nil
	}
	if err := q.writeIndex(sp, s, &idx); err != nil {
		return nil, nil, err
	}
	kq.idx, kq.live, kq.aux = idx, rest, nil
	if q.keys == nil {
		q.keys = map[string]*keyQueue{}
	}
	if !hit {
		q.cached += kq.size
	}
	q.keys[key] = kq
	q.evict(key)
	return payloads, aux, nil
}

// Peek returns every entry of key's queue, by due time then arrival,
// without removing any: for a caller rebuilding data of its own.
func (q *Queue) Peek(sp state.Provider, s State, key string) ([][]byte, error) {
	idx, kq, err := q.index(sp, s, key)
	if err != nil {
		return nil, err
	}
	if kq == nil {
		if kq, err = q.load(sp, s, idx); err != nil {
			return nil, err
		}
		if q.keys == nil {
			q.keys = map[string]*keyQueue{}
		}
		q.keys[key] = kq
		q.cached += kq.size
		q.evict(key)
	}
	live := slices.Clone(kq.live)
	slices.SortStableFunc(live, func(a, b entry) int { return cmp.Compare(a.due, b.due) })
	out := make([][]byte, len(live))
	for i, e := range live {
		out[i] = e.pay
	}
	return out, nil
}

// Aux returns the value last given to SetAux for key if key's copy is
// current, else nil, and drops it from the copy: a caller that changes
// what it stands for gives it back with SetAux once its state is written,
// so a call that fails half-way leaves no stale value behind.
func (q *Queue) Aux(sp state.Provider, s State, key string) (any, error) {
	_, kq, err := q.index(sp, s, key)
	if err != nil || kq == nil {
		return nil, err
	}
	aux := kq.aux
	kq.aux = nil
	return aux, nil
}

// SetAux keeps v with key's queue until the queue's state next changes
// elsewhere; Take returns it. Call it after Take, once the state v stands
// for is written.
func (q *Queue) SetAux(key string, v any) {
	if kq, ok := q.keys[key]; ok {
		kq.aux = v
	}
}

// index reads key's index and returns it with key's cached queue if that
// is current; a stale one is dropped.
func (q *Queue) index(sp state.Provider, s State, key string) (index, *keyQueue, error) {
	b, _, err := s.Index.Read(sp)
	if err != nil {
		return index{}, nil, fmt.Errorf("pending: read index: %w", err)
	}
	idx, err := decodeIndex(b)
	if err != nil {
		return index{}, nil, err
	}
	kq, ok := q.keys[key]
	if !ok {
		return idx, nil, nil
	}
	// Token 0 is an index never written: an empty queue, as a copy
	// loaded from it is until it writes a token of its own.
	if kq.idx.token != idx.token {
		q.cached -= kq.size
		delete(q.keys, key)
		return idx, nil, nil
	}
	return idx, kq, nil
}

// load reads a key's live entries from its Bag.
func (q *Queue) load(sp state.Provider, s State, idx index) (*keyQueue, error) {
	raws, _, err := s.Entries.Read(sp)
	if err != nil {
		return nil, fmt.Errorf("pending: read entries: %w", err)
	}
	kq := &keyQueue{idx: idx}
	for _, raw := range raws {
		e, err := decodeEntry(raw)
		if err != nil {
			return nil, err
		}
		if slices.Contains(idx.taken, e.seq) {
			continue
		}
		kq.live = append(kq.live, e)
		kq.size += len(e.pay)
	}
	// The Bag's order is the runner's; arrival order is the sequence's.
	slices.SortFunc(kq.live, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	return kq, nil
}

// evict drops cached keys other than keep until the cache fits.
func (q *Queue) evict(keep string) {
	for k, kq := range q.keys {
		if q.cached <= MaxCachedBytes {
			return
		}
		if k != keep {
			q.cached -= kq.size
			delete(q.keys, k)
		}
	}
}

func (q *Queue) writeIndex(sp state.Provider, s State, idx *index) error {
	idx.token = newToken()
	if err := s.Index.Write(sp, encodeIndex(*idx)); err != nil {
		return fmt.Errorf("pending: write index: %w", err)
	}
	return nil
}

// newToken is a random non-zero token; zero marks an index never written.
func newToken() uint64 {
	for {
		if t := rand.Uint64(); t != 0 {
			return t
		}
	}
}

var errCorrupt = errors.New("pending: corrupt state")

func encodeIndex(idx index) []byte {
	b := binary.LittleEndian.AppendUint64(nil, idx.token)
	b = binary.AppendUvarint(b, idx.next)
	b = binary.AppendUvarint(b, idx.stored)
	b = binary.AppendUvarint(b, uint64(len(idx.taken)))
	for _, s := range idx.taken {
		b = binary.AppendUvarint(b, s)
	}
	return b
}

func decodeIndex(b []byte) (index, error) {
	if len(b) == 0 {
		return index{}, nil
	}
	if len(b) < 8 {
		return index{}, fmt.Errorf("%w: index of %d bytes", errCorrupt, len(b))
	}
	idx := index{token: binary.LittleEndian.Uint64(b)}
	r := bytes.NewReader(b[8:])
	var n uint64
	var err error
	for _, v := range []*uint64{&idx.next, &idx.stored, &n} {
		if *v, err = binary.ReadUvarint(r); err != nil {
			return index{}, fmt.Errorf("%w: index: %v", errCorrupt, err)
		}
	}
	if n > idx.stored || n > uint64(r.Len()) {
		return index{}, fmt.Errorf("%w: index lists %d taken of %d", errCorrupt, n, idx.stored)
	}
	idx.taken = make([]uint64, n)
	for i := range idx.taken {
		if idx.taken[i], err = binary.ReadUvarint(r); err != nil {
			return index{}, fmt.Errorf("%w: index: %v", errCorrupt, err)
		}
	}
	if r.Len() != 0 {
		return index{}, fmt.Errorf("%w: index has %d trailing bytes", errCorrupt, r.Len())
	}
	return idx, nil
}

func decodeEntry(raw []byte) (entry, error) {
	r := bytes.NewReader(raw)
	seq, err := binary.ReadUvarint(r)
	if err != nil {
		return entry{}, fmt.Errorf("%w: entry: %v", errCorrupt, err)
	}
	due, err := binary.ReadVarint(r)
	if err != nil {
		return entry{}, fmt.Errorf("%w: entry: %v", errCorrupt, err)
	}
	return entry{seq: seq, due: due, raw: raw, pay: raw[len(raw)-r.Len():]}, nil
}
