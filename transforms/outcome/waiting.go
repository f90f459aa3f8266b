package outcome

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// waiting is a shard's views waiting for their outcome, by user and item
// (an engagement finds the views it covers without a scan) and by the
// batch end their window closes at (a firing visits only the views it
// closes, not every waiting one). It lives as long as the worker's copy
// instead of being rebuilt per firing.
type waiting struct {
	byPair map[pair][]*view
	byEnd  map[mtime.Time]*closing
	n      int // views not yet labelled
}

type pair struct{ user, item string }

type view struct {
	e      event.Event
	end    mtime.Time // batch end at which the window closes
	stored bool       // in the Views queue
	done   bool       // labelled
}

// closing is the views whose windows close at one batch end; live counts
// those not yet labelled.
type closing struct {
	views []*view
	live  int
}

func newWaiting() *waiting {
	return &waiting{byPair: map[pair][]*view{}, byEnd: map[mtime.Time]*closing{}}
}

// add adds a view whose window closes at end.
func (w *waiting) add(k pair, e event.Event, end mtime.Time) *view {
	v := &view{e: e, end: end}
	w.byPair[k] = append(w.byPair[k], v)
	c := w.byEnd[end]
	if c == nil {
		c = &closing{}
		w.byEnd[end] = c
	}
	c.views = append(c.views, v)
	c.live++
	w.n++
	return v
}

// engage marks k's views that e covers (within windowMillis after the
// view, inclusive) labelled, removes them and returns them.
func (w *waiting) engage(k pair, e *event.Event, windowMillis int64) []*view {
	vs := w.byPair[k]
	var hit []*view
	kept := vs[:0]
	for _, v := range vs {
		if e.EventTime >= v.e.EventTime && e.EventTime-v.e.EventTime <= windowMillis {
			hit = append(hit, v)
			w.done(v)
			continue
		}
		kept = append(kept, v)
	}
	clear(vs[len(kept):])
	if len(kept) == 0 {
		delete(w.byPair, k)
	} else {
		w.byPair[k] = kept
	}
	return hit
}

// done marks v labelled; a batch end left with no live views is dropped.
func (w *waiting) done(v *view) {
	v.done = true
	w.n--
	if c := w.byEnd[v.end]; c != nil {
		if c.live--; c.live == 0 {
			delete(w.byEnd, v.end)
		}
	}
}

// close labels, removes and hands to f the views whose windows close at
// or before ts.
func (w *waiting) close(ts mtime.Time, f func(*view)) {
	for end, c := range w.byEnd {
		if end > ts {
			continue
		}
		delete(w.byEnd, end)
		for _, v := range c.views {
			if v.done {
				continue
			}
			v.done = true
			w.n--
			w.unpair(v)
			f(v)
		}
	}
}

// unpair removes v from its pair's views.
func (w *waiting) unpair(v *view) {
	k := pair{v.e.UserID, v.e.ItemID}
	vs := w.byPair[k]
	i := slices.Index(vs, v)
	if i < 0 {
		return
	}
	vs = slices.Delete(vs, i, i+1)
	if len(vs) == 0 {
		delete(w.byPair, k)
	} else {
		w.byPair[k] = vs
	}
}

// ends returns the batch ends at which waiting views close.
func (w *waiting) ends() []mtime.Time {
	return slices.Sorted(maps.Keys(w.byEnd))
}

// Kinds of a Views entry.
const (
	chunkViews = 'v' // views, framed by event.AppendFramed
	chunkGone  = 'x' // views labelled 1: (uvarint length, event_id, varint event time)...
)

// viewID identifies a stored view across firings.
type viewID struct {
	id string
	t  int64
}

func appendGone(b []byte, v *event.Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(v.EventID)))
	b = append(b, v.EventID...)
	return binary.AppendVarint(b, v.EventTime)
}

// loadWaiting rebuilds a shard's waiting views from Views, for a worker
// whose copy is stale: every stored chunk's views but those recorded as
// labelled since. Chunks whose windows closed were taken.
func (fn *labelFn) loadWaiting(sp state.Provider, key string) (*waiting, error) {
	entries, err := fn.viewQ.Peek(sp, fn.views(), key)
	if err != nil {
		return nil, err
	}
	gone := map[viewID]bool{}
	var chunks [][]byte
	for _, b := range entries {
		if len(b) == 0 {
			return nil, fmt.Errorf("outcome: empty views entry")
		}
		switch b[0] {
		case chunkViews:
			chunks = append(chunks, b[1:])
		case chunkGone:
			for r := b[1:]; len(r) > 0; {
				n, k := binary.Uvarint(r)
				if k <= 0 || n > uint64(len(r)-k) {
					return nil, fmt.Errorf("outcome: corrupt labelled views")
				}
				id := string(r[k : k+int(n)])
				r = r[k+int(n):]
				t, k := binary.Varint(r)
				if k <= 0 {
					return nil, fmt.Errorf("outcome: corrupt labelled views")
				}
				r = r[k:]
				gone[viewID{id, t}] = true
			}
		default:
			return nil, fmt.Errorf("outcome: views entry of kind %q", b[0])
		}
	}
	w := newWaiting()
	for _, c := range chunks {
		vs, err := decodeEvents(c)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !gone[viewID{v.EventID, v.EventTime}] {
				w.add(pair{v.UserID, v.ItemID}, v, fn.closes(&v)).stored = true
			}
		}
	}
	return w, nil
}
