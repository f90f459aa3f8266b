// Package trending ranks the top K items of each sliding window, globally
// and per category. An item's score is the weighted count of its events in
// the window; ties go to the smaller item_id, so rankings are deterministic.
package trending

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/parts"
)

// Table is the name of the trending table.
const Table = "trending"

// GlobalScope is the scope of the ranking over all items.
const GlobalScope = "global"

// Config sets the windows, K and the score.
type Config struct {
	// Size and Period of the sliding windows (default 5 min every 1 min).
	// Size must be a multiple of Period.
	Size, Period time.Duration
	// K is how many items each ranking keeps (default 10).
	K int
	// Weights scores each action; nil weights every action 1, so the score
	// is the number of events.
	Weights map[event.Action]float64
	// Options are the trigger, accumulation mode and allowed lateness.
	Options []beam.WindowIntoOption
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Size == 0 {
		c.Size = 5 * time.Minute
	}
	if c.Period == 0 {
		c.Period = time.Minute
	}
	if c.K == 0 {
		c.K = 10
	}
	return c
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Period <= 0 || c.Size < c.Period || c.Size%c.Period != 0:
		return fmt.Errorf("trending: window %v every %v: the size must be a positive multiple of the period", c.Size, c.Period)
	case c.K < 1:
		return fmt.Errorf("trending: k = %d, want at least 1", c.K)
	}
	for a, w := range c.Weights {
		if !a.Valid() || w < 0 {
			return fmt.Errorf("trending: weight %v for action %q: want a known action and a weight ≥ 0", w, a)
		}
	}
	return nil
}

// Row is one ranked item of one scope in one window.
type Row struct {
	WindowStart string  `json:"window_start" bigquery:"window_start"`
	WindowEnd   string  `json:"window_end" bigquery:"window_end"`
	Scope       string  `json:"scope" bigquery:"scope"`
	Rank        int64   `json:"rank" bigquery:"rank"`
	ItemID      string  `json:"item_id" bigquery:"item_id"`
	Score       float64 `json:"score" bigquery:"score"`
	Events      int64   `json:"events" bigquery:"events"`
	Views       int64   `json:"views" bigquery:"views"`
	PaneTiming  string  `json:"pane_timing" bigquery:"pane_timing"`
	PaneIndex   int64   `json:"pane_index" bigquery:"pane_index"`
	IsFinal     bool    `json:"is_final" bigquery:"is_final"`
}

func init() {
	beam.RegisterType(reflect.TypeOf(Row{}))
	beam.RegisterType(reflect.TypeOf(Counts{}))
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, Counts)](&partialFn{})
	register.Emitter3[beam.EventTime, string, Counts]()
	register.DoFn5x0[beam.PaneInfo, beam.Window, string, func(*Counts) bool, func(Row)](&rankFn{})
	register.Iter1[Counts]()
	register.Emitter1[Row]()
}

// Build ranks the items of events, a PCollection<event.Event> in the global
// window timestamped by event time, and returns a PCollection<Row>: K rows
// (fewer when the scope has fewer items) per scope, window and pane.
func Build(s beam.Scope, cfg Config, events ...beam.PCollection) (beam.PCollection, error) {
	if err := cfg.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	cfg = cfg.WithDefaults()
	s = s.Scope("Trending")
	weights := make([]float64, event.NumActions)
	for i := range weights {
		weights[i] = 1
	}
	if cfg.Weights != nil {
		clear(weights)
		for a, w := range cfg.Weights {
			weights[a] = w
		}
	}
	// Windowed in each part, as rollup.PerKey explains.
	windowed := parts.Apply(s, events, func(s beam.Scope, events beam.PCollection) beam.PCollection {
		partials := beam.ParDo(s, &partialFn{BucketMillis: cfg.Period.Milliseconds(), Weights: weights}, events)
		return beam.WindowInto(s, window.NewSlidingWindows(cfg.Period, cfg.Size), partials, cfg.Options...)
	})
	return beam.ParDo(s, &rankFn{K: cfg.K}, beam.GroupByKey(s, windowed)), nil
}

// rankFn merges the partial counts of one scope, window and pane, and
// emits its top K.
type rankFn struct {
	K int `json:"k"`
}

func (fn *rankFn) ProcessElement(p beam.PaneInfo, w beam.Window, scope string, parts func(*Counts) bool, emit func(Row)) {
	var all Counts
	var c Counts
	for parts(&c) {
		all.Merge(&c)
		c = Counts{}
	}
	info := pane.Of(w, p)
	for i, it := range all.Top(fn.K) {
		emit(Row{
			WindowStart: info.WindowStart, WindowEnd: info.WindowEnd, Scope: scope,
			Rank: int64(i + 1), ItemID: it.ItemID, Score: it.Score, Events: it.Events, Views: it.Views,
			PaneTiming: info.Timing, PaneIndex: info.Index, IsFinal: info.IsFinal,
		})
	}
}

// Item is one item's tally.
type Item struct {
	ItemID string
	Score  float64
	Events int64
	Views  int64
}

// Counts tallies the items of one scope. Items are kept sorted by ItemID so
// that merging is a linear merge and the encoding is canonical.
type Counts struct {
	Items []Item
}

// Merge adds o's tallies to c.
func (c *Counts) Merge(o *Counts) {
	if len(c.Items) == 0 {
		c.Items = append(c.Items, o.Items...)
		return
	}
	out := make([]Item, 0, len(c.Items)+len(o.Items))
	a, b := c.Items, o.Items
	for len(a) > 0 && len(b) > 0 {
		switch x, y := a[0], b[0]; {
		case x.ItemID < y.ItemID:
			out, a = append(out, x), a[1:]
		case x.ItemID > y.ItemID:
			out, b = append(out, y), b[1:]
		default:
			x.Score += y.Score
			x.Events += y.Events
			x.Views += y.Views
			out, a, b = append(out, x), a[1:], b[1:]
		}
	}
	c.Items = append(append(out, a...), b...)
}

// Top returns the k items with the highest score, ties broken by ItemID
// ascending.
func (c *Counts) Top(k int) []Item {
	items := slices.Clone(c.Items)
	slices.SortFunc(items, func(x, y Item) int {
		if r := cmp.Compare(y.Score, x.Score); r != 0 {
			return r
		}
		return cmp.Compare(x.ItemID, y.ItemID)
	})
	return items[:min(k, len(items))]
}
