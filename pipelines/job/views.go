package job

import (
	"fmt"

	"github.com/pulse-analytics/pulse/transforms/bigquery"
)

// latestPane keeps, per window and key, the row of the latest pane: the
// final one once the window has closed, the freshest early one before. (A
// join, not ROW_NUMBER: the emulator runs window functions very slowly.)
const latestPane = `SELECT t.* FROM {{dataset}}.%[2]s AS t
JOIN (SELECT window_start, %[1]s, MAX(pane_index) AS last_pane
  FROM {{dataset}}.%[2]s GROUP BY window_start, %[1]s) AS l
USING (window_start, %[1]s)
WHERE t.pane_index = l.last_pane`

// Views lists the views that `pulse bq init` creates over the tables.
func Views() []bigquery.View {
	return []bigquery.View{
		{Name: "item_metrics_latest", Query: fmt.Sprintf(latestPane, "item_id", "item_metrics")},
		{Name: "category_metrics_latest", Query: fmt.Sprintf(latestPane, "category", "category_metrics")},
		{Name: "trending_latest", Query: fmt.Sprintf(latestPane, "scope, item_id", "trending")},
		// The current top list: the latest pane of the newest window.
		{Name: "trending_now", Query: `SELECT window_start, window_end, scope, ` + "`rank`" + `, item_id, score, events, views, pane_timing
FROM {{dataset}}.trending_latest
WHERE window_end = (SELECT MAX(window_end) FROM {{dataset}}.trending)`},
		// Each model variant's progressive loss over everything it has
		// seen, best first within a model.
		{Name: "model_leaderboard", Query: `SELECT model, variant,
  SUM(batch_examples) AS examples,
  SUM(batch_loss * batch_examples) / NULLIF(SUM(batch_examples), 0) AS mean_loss,
  MAX(window_end) AS last_window,
  LOGICAL_OR(drift) AS drifted
FROM {{dataset}}.model_metrics
GROUP BY model, variant`},
	}
}
