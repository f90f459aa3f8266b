package outcome

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// waiting is a shard's views waiting for their outcome, by user and item:
// an engagement finds the views it covers without a scan, and the index
// lives as long as the worker's copy instead of being rebuilt per firing.
type waiting struct {
	byPair map[pair][]view
	n      int
}

type pair struct{ user, item string }

type view struct {
	e      event.Event
	stored bool // in the Views queue
}

func newWaiting() *waiting { return &waiting{byPair: map[pair][]view{}} }

func (w *waiting) add(k pair, e event.Event) {
	w.byPair[k] = append(w.byPair[k], view{e: e})
	w.n++
}

// set replaces k's views with vs, a filtered prefix of them.
func (w *waiting) set(k pair, vs []view) {
	w.n -= len(w.byPair[k]) - len(vs)
	if len(vs) == 0 {
		delete(w.byPair, k)
		return
	}
	w.byPair[k] = vs
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
				w.add(pair{v.UserID, v.ItemID}, v)
			}
		}
	}
	for _, vs := range w.byPair {
		for i := range vs {
			vs[i].stored = true
		}
	}
	return w, nil
}
