package trending

import (
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// maxPartials bounds the (scope, bucket, item) tallies a bundle holds
// before it flushes them.
const maxPartials = 1 << 17

type bucketKey struct {
	scope  string
	bucket int64
}

type bucket struct {
	items map[string]*Item
	minTS int64
}

// partialFn tallies a bundle's events per scope and period bucket before
// the shuffle, the hand-made combiner lifting that rollup explains. Each
// event counts in the global scope and in its category's.
type partialFn struct {
	BucketMillis int64     `json:"bucket_millis"`
	Weights      []float64 `json:"weights"`

	buckets map[bucketKey]*bucket
	n       int
}

func (fn *partialFn) ProcessElement(ts beam.EventTime, e event.Event, emit func(beam.EventTime, string, Counts)) {
	if fn.buckets == nil {
		fn.buckets = make(map[bucketKey]*bucket)
	}
	if fn.n >= maxPartials {
		fn.FinishBundle(emit)
	}
	t := int64(ts)
	b := t - ((t%fn.BucketMillis)+fn.BucketMillis)%fn.BucketMillis
	fn.add(bucketKey{GlobalScope, b}, t, &e)
	fn.add(bucketKey{e.Category, b}, t, &e)
}

func (fn *partialFn) add(k bucketKey, t int64, e *event.Event) {
	bk := fn.buckets[k]
	if bk == nil {
		bk = &bucket{items: make(map[string]*Item), minTS: t}
		fn.buckets[k] = bk
	}
	bk.minTS = min(bk.minTS, t)
	it := bk.items[e.ItemID]
	if it == nil {
		it = &Item{ItemID: e.ItemID}
		bk.items[e.ItemID] = it
		fn.n++
	}
	it.Events++
	it.Score += fn.Weights[e.Action]
	if e.Action == event.View {
		it.Views++
	}
}

// FinishBundle emits every tally, stamped with its bucket's earliest event
// time so that windowing puts it in its events' windows.
func (fn *partialFn) FinishBundle(emit func(beam.EventTime, string, Counts)) {
	for k, bk := range fn.buckets {
		c := Counts{Items: make([]Item, 0, len(bk.items))}
		for _, it := range bk.items {
			c.Items = append(c.Items, *it)
		}
		slices.SortFunc(c.Items, func(x, y Item) int { return strings.Compare(x.ItemID, y.ItemID) })
		emit(mtime.FromMilliseconds(bk.minTS), k.scope, c)
	}
	clear(fn.buckets)
	fn.n = 0
}
