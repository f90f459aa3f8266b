package streambench

import (
	"math"
	"slices"
	"sync"
	"time"
)

// rowKey names one item_metrics row family: an item in a window.
type rowKey struct {
	item   string
	window int64 // window start, Unix milliseconds
}

// keyEvents is what the tracker knows of one row family.
type keyEvents struct {
	// published holds the publish times of the key's events, in publish
	// order (the publisher is one goroutine).
	published []time.Time
	// visible is how many of them queries have shown: the largest events
	// count seen in any pane of the key, capped at what was published
	// before the query began.
	visible int
	// delays[i] is the delay of published[i], set once visible > i.
	delays []time.Duration
	// overcount is the largest excess of a queried count over the events
	// published before the query began (events counted twice).
	overcount int64
}

// Tracker pairs each published event with the first query that shows it
// in item_metrics, which gives the publish-to-queryable delay:
//
// An event is queryable once a query of item_metrics returns, for its item
// and window, a pane whose events count includes it. Counts do not say
// which events they hold, so the tracker takes a key's events in publish
// order: the k-th event published for a key is queryable at the end of the
// first query that returns a count ≥ k for that key. The delay is that
// query's end minus the event's publish time (when the publisher handed it
// to the Pub/Sub client), so it includes the query itself and is up to one
// poll interval late: a bound from above, at the poll's resolution.
type Tracker struct {
	mu   sync.Mutex
	keys map[rowKey]*keyEvents
	// published counts every event handed to Published.
	published int64
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{keys: map[rowKey]*keyEvents{}} }

// Published records that the event of item at eventTime (Unix ms) was
// published at t, in a window of the given size.
func (tr *Tracker) Published(item string, eventTime int64, window time.Duration, t time.Time) {
	w := window.Milliseconds()
	start := eventTime - ((eventTime%w)+w)%w
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := rowKey{item, start}
	ke := tr.keys[k]
	if ke == nil {
		ke = &keyEvents{}
		tr.keys[k] = ke
	}
	ke.published = append(ke.published, t)
	tr.published++
}

// Pending returns the start of the earliest window that still has events
// no query has shown, and false when every published event was shown.
func (tr *Tracker) Pending() (time.Time, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var min int64
	found := false
	for k, ke := range tr.keys {
		if ke.visible < len(ke.published) && (!found || k.window < min) {
			min, found = k.window, true
		}
	}
	return time.UnixMilli(min).UTC(), found
}

// Observe records one query's answer: for each key, the largest events
// count of its panes. began and ended bound the query: only events
// published before began can be in its answer, and ended is when the
// caller saw it.
func (tr *Tracker) Observe(counts map[rowKey]int64, began, ended time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for k, n := range counts {
		ke := tr.keys[k]
		if ke == nil {
			ke = &keyEvents{}
			tr.keys[k] = ke
		}
		// Events published after the query began cannot be in its answer.
		before, _ := slices.BinarySearchFunc(ke.published, began, func(p, t time.Time) int { return p.Compare(t) })
		if extra := n - int64(before); extra > ke.overcount {
			ke.overcount = extra
		}
		for ke.visible < before && int64(ke.visible) < n {
			ke.delays = append(ke.delays, ended.Sub(ke.published[ke.visible]))
			ke.visible++
		}
	}
}

// Delays summarises what the tracker saw.
type Delays struct {
	// Published counts the events published; Visible those that a query
	// showed.
	Published, Visible int64
	// Keys counts the item/window rows published to; Complete those whose
	// every event a query showed.
	Keys, Complete int
	// Overcounted counts keys whose queried count exceeded the events
	// published for them (events counted twice); Excess sums the excess.
	Overcounted int
	Excess      int64
	// Event holds one delay per visible event published at or after the
	// cut-off given to Summary, sorted.
	Event []time.Duration
	// Row holds, per complete key whose last event was published at or
	// after the cut-off, the delay of its last event: publish of the last
	// event that counts in the row to the row showing it, sorted.
	Row []time.Duration
}

// Summary returns the delays of events published at or after from (to
// leave a warm-up out).
func (tr *Tracker) Summary(from time.Time) Delays {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var d Delays
	d.Published = tr.published
	for _, ke := range tr.keys {
		if len(ke.published) == 0 {
			// A row for an item and window no event was published to.
			d.Overcounted++
			d.Excess += ke.overcount
			continue
		}
		d.Keys++
		d.Visible += int64(ke.visible)
		if ke.overcount > 0 {
			d.Overcounted++
			d.Excess += ke.overcount
		}
		for i, dl := range ke.delays {
			if !ke.published[i].Before(from) {
				d.Event = append(d.Event, dl)
			}
		}
		if n := len(ke.published); ke.visible == n {
			d.Complete++
			if !ke.published[n-1].Before(from) {
				d.Row = append(d.Row, ke.delays[n-1])
			}
		}
	}
	slices.Sort(d.Event)
	slices.Sort(d.Row)
	return d
}

// Quantile returns the q-quantile (0..1) of sorted delays, nearest rank;
// 0 for none.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The nearest rank is ⌈q·n⌉, 1-based.
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
