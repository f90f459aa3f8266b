// Package rollup aggregates events per key and window into activity
// metrics: counts per action, distinct users, watch time and money. It
// aggregates before the shuffle, so that a shuffle carries partial
// aggregates instead of raw events.
package rollup

import (
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(Metrics{}), encodeMetrics, decodeMetrics)
	register.Function1x2(encodeMetrics)
	register.Function1x2(decodeMetrics)
}

// Metrics is the running aggregate of one key's events in one window.
type Metrics struct {
	// Category is the smallest non-empty category seen, so that the result
	// does not depend on the order events arrive in.
	Category string
	// Actions counts events per action; Actions[0] counts all events.
	Actions [event.NumActions]int64
	Users   Users
	// WatchMicros and AmountMicros sum in millionths, as integers, so
	// that the totals do not depend on the order in which a runner adds
	// partial sums: every runner and every bundling gives the same bytes.
	WatchMicros  int64
	WatchedView  int64
	AmountMicros int64
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
		m.WatchMicros += micros(e.WatchSeconds)
		m.WatchedView++
	}
	if e.HasAmount {
		m.AmountMicros += micros(e.Amount)
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
	m.WatchMicros += o.WatchMicros
	m.WatchedView += o.WatchedView
	m.AmountMicros += o.AmountMicros
}

// micros rounds v to millionths. Values beyond ±9.2e12 saturate; no watch
// time (clipped to a day) or sane amount comes near.
func micros(v float64) int64 {
	return int64(math.Round(math.Max(math.Min(v, 9.2e12), -9.2e12) * 1e6))
}

// WatchSeconds returns the summed watch time in seconds.
func (m *Metrics) WatchSeconds() float64 { return float64(m.WatchMicros) / 1e6 }

// Amount returns the summed amount.
func (m *Metrics) Amount() float64 { return float64(m.AmountMicros) / 1e6 }
