package job

import (
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

// Tables lists every table a job writes, with its row type and the main
// key BigQuery clusters it on.
func Tables() []bigquery.Table {
	return []bigquery.Table{
		{Name: monitor.TableItemMetrics, Row: monitor.ItemMetrics{}, ClusterBy: []string{"item_id", "category"}},
		{Name: monitor.TableCategoryMetrics, Row: monitor.CategoryMetrics{}, ClusterBy: []string{"category"}},
		{Name: monitor.TableTrending, Row: trending.Row{}, ClusterBy: []string{"scope", "item_id"}},
		{Name: monitor.TableUserSessions, Row: sessions.Row{}, ClusterBy: []string{"user_id"}},
		{Name: monitor.TableAlerts, Row: alerts.Row{}, ClusterBy: []string{"scope", "key"}},
		{Name: learn.TablePredictions, Row: learn.Prediction{}, ClusterBy: []string{"model", "key"}},
		{Name: learn.TableModelMetrics, Row: learn.ModelMetrics{}, ClusterBy: []string{"model", "variant"}},
		{Name: learn.TableModelSnapshots, Row: learn.ModelSnapshot{}, ClusterBy: []string{"model", "variant"}},
		{Name: deadletter.Table, Row: deadletter.Row{}, ClusterBy: []string{"source"}},
	}
}

// table returns the spec of the named table.
func table(name string) bigquery.Table {
	for _, t := range Tables() {
		if t.Name == name {
			return t
		}
	}
	return bigquery.Table{Name: name}
}
