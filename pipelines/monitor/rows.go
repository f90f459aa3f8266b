package monitor

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/rollup"
)

// Table names, as folders of the file sink and tables in BigQuery.
const (
	TableItemMetrics     = "item_metrics"
	TableCategoryMetrics = "category_metrics"
	TableTrending        = "trending"
	TableUserSessions    = "user_sessions"
	TableAlerts          = "alerts"
)

func init() {
	for _, t := range []any{ItemMetrics{}, CategoryMetrics{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}

// ActivityColumns are the metric columns that item and category rows share.
type ActivityColumns struct {
	Events          int64   `json:"events" bigquery:"events"`
	Views           int64   `json:"views" bigquery:"views"`
	Clicks          int64   `json:"clicks" bigquery:"clicks"`
	Likes           int64   `json:"likes" bigquery:"likes"`
	Comments        int64   `json:"comments" bigquery:"comments"`
	Shares          int64   `json:"shares" bigquery:"shares"`
	Favorites       int64   `json:"favorites" bigquery:"favorites"`
	Carts           int64   `json:"carts" bigquery:"carts"`
	Purchases       int64   `json:"purchases" bigquery:"purchases"`
	Payments        int64   `json:"payments" bigquery:"payments"`
	UniqueUsers     int64   `json:"unique_users" bigquery:"unique_users"`
	WatchSecondsSum float64 `json:"watch_seconds_sum" bigquery:"watch_seconds_sum"`
	WatchedViews    int64   `json:"watched_views" bigquery:"watched_views"`
	AmountSum       float64 `json:"amount_sum" bigquery:"amount_sum"`
}

// PaneColumns are the window and pane columns of every windowed row.
type PaneColumns struct {
	WindowStart string `json:"window_start" bigquery:"window_start"`
	WindowEnd   string `json:"window_end" bigquery:"window_end"`
	PaneTiming  string `json:"pane_timing" bigquery:"pane_timing"`
	PaneIndex   int64  `json:"pane_index" bigquery:"pane_index"`
	IsFinal     bool   `json:"is_final" bigquery:"is_final"`
}

// ItemMetrics is one row of item_metrics: one item in one window.
type ItemMetrics struct {
	PaneColumns
	ItemID   string `json:"item_id" bigquery:"item_id"`
	Category string `json:"category" bigquery:"category"`
	ActivityColumns
}

// CategoryMetrics is one row of category_metrics: one category in one window.
type CategoryMetrics struct {
	PaneColumns
	Category string `json:"category" bigquery:"category"`
	ActivityColumns
}

func paneColumns(p pane.Info) PaneColumns {
	return PaneColumns{WindowStart: p.WindowStart, WindowEnd: p.WindowEnd, PaneTiming: p.Timing, PaneIndex: p.Index, IsFinal: p.IsFinal}
}

func activityColumns(m *rollup.Metrics) ActivityColumns {
	a := &m.Actions
	return ActivityColumns{
		Events: a[0], Views: a[event.View], Clicks: a[event.Click], Likes: a[event.Like],
		Comments: a[event.Comment], Shares: a[event.Share], Favorites: a[event.Favorite],
		Carts: a[event.Cart], Purchases: a[event.Purchase], Payments: a[event.Payment],
		UniqueUsers:     m.Users.Count(),
		WatchSecondsSum: m.WatchSeconds(), WatchedViews: m.WatchedView, AmountSum: m.Amount(),
	}
}
