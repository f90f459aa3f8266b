// Package rollup aggregates events per key and window into activity
// metrics: counts per action, distinct users, watch time and money. It
// aggregates before the shuffle, so that a shuffle carries partial
// aggregates instead of raw events.
package rollup

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/transforms/event"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(Metrics{}), encodeMetrics, decodeMetrics)
}

// Metrics is the running aggregate of one key's events in one window.
type Metrics struct {
	// Category is the smallest non-empty category seen, so that the result
	// does not depend on the order events arrive in.
	Category string
	// Actions counts events per action; Actions[0] counts all events.
	Actions     [event.NumActions]int64
	Users       Users
	WatchSum    float64
	WatchedView int64
	AmountSum   float64
}

// Events returns the number of events.
func (m *Metrics) Events() int64 { return m.Actions[0] }

// Add folds one event into m.
func (m *Metrics) Add(e *event.Event) {
	if e.Category != "" && (m.Category == "" || e.Category < m.Category) {
		m.Category = e.Category
	}
	m.Actions[0]++
	m.Actions[e.Action]++
	m.Users.Add(e.UserID)
	if e.Action == event.View && e.HasWatch {
		m.WatchSum += e.WatchSeconds
		m.WatchedView++
	}
	if e.HasAmount {
		m.AmountSum += e.Amount
	}
}

// Merge folds o into m.
func (m *Metrics) Merge(o *Metrics) {
	if o.Category != "" && (m.Category == "" || o.Category < m.Category) {
		m.Category = o.Category
	}
	for i := range m.Actions {
		m.Actions[i] += o.Actions[i]
	}
	m.Users.Merge(&o.Users)
	m.WatchSum += o.WatchSum
	m.WatchedView += o.WatchedView
	m.AmountSum += o.AmountSum
}
