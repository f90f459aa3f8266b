package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/pulse-analytics/pulse/transforms/bigquery"
)

// BigQuerySource reads a dataset written by pulse through SQL, taking the
// latest pane of every window (the *_latest views of `pulse bq init`), so
// that a stream still running reports what it has so far.
type BigQuerySource struct {
	Out    bigquery.Output
	Client *bq.Client
}

// Name is the dataset's URL.
func (b BigQuerySource) Name() string { return b.Out.String() }

func (b BigQuerySource) table(name string) string {
	return "`" + b.Out.Project + "." + b.Out.Dataset + "." + name + "`"
}

// rows runs sql and hands each row to f.
func (b BigQuerySource) rows(ctx context.Context, sql string, f func([]bq.Value) error) error {
	it, err := b.Client.Query(sql).Read(ctx)
	if err != nil {
		return fmt.Errorf("report query: %w", err)
	}
	for {
		var row []bq.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return fmt.Errorf("report query: %w", err)
		}
		if err := f(row); err != nil {
			return err
		}
	}
}

func i64(v bq.Value) int64 {
	n, _ := v.(int64)
	return n
}

func f64(v bq.Value) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return 0
}

func str(v bq.Value) string {
	s, _ := v.(string)
	return s
}

func ts(v bq.Value) time.Time {
	t, _ := v.(time.Time)
	return t
}

// ActionCounts sums category_metrics per window and action.
func (b BigQuerySource) ActionCounts(ctx context.Context) ([]ActionCount, error) {
	cols := []string{"views", "clicks", "likes", "comments", "shares", "favorites", "carts", "purchases", "payments"}
	var sums []string
	for _, c := range cols {
		sums = append(sums, "SUM("+c+")")
	}
	var out []ActionCount
	err := b.rows(ctx, "SELECT window_start, "+strings.Join(sums, ", ")+" FROM "+b.table("category_metrics_latest")+" GROUP BY window_start",
		func(r []bq.Value) error {
			for i := range cols {
				out = append(out, ActionCount{WindowStart: ts(r[0]), Action: Actions[i], Events: i64(r[i+1])})
			}
			return nil
		})
	return out, err
}

// TrendingRanks returns the latest rows of the global trending lists.
func (b BigQuerySource) TrendingRanks(ctx context.Context) ([]TrendingRank, error) {
	var out []TrendingRank
	err := b.rows(ctx, "SELECT window_end, `rank`, item_id, score FROM "+b.table("trending_latest")+" WHERE scope = 'global'",
		func(r []bq.Value) error {
			out = append(out, TrendingRank{WindowEnd: ts(r[0]), Rank: i64(r[1]), ItemID: str(r[2]), Score: f64(r[3])})
			return nil
		})
	return out, err
}

// SessionLengths counts user_sessions rows per number of events.
func (b BigQuerySource) SessionLengths(ctx context.Context) ([]SessionLength, error) {
	var out []SessionLength
	err := b.rows(ctx, "SELECT events, COUNT(*), COUNTIF(converted) FROM "+b.table("user_sessions")+" GROUP BY events",
		func(r []bq.Value) error {
			out = append(out, SessionLength{Events: i64(r[0]), Sessions: i64(r[1]), Converted: i64(r[2])})
			return nil
		})
	return out, err
}

// ModelLoss returns log_loss for logistic models and rmse for regressions.
func (b BigQuerySource) ModelLoss(ctx context.Context) ([]ModelPoint, error) {
	var out []ModelPoint
	err := b.rows(ctx, "SELECT model, variant, key, window_end, log_loss, rmse, examples, drift FROM "+b.table("model_metrics")+
		" WHERE log_loss IS NOT NULL OR rmse IS NOT NULL",
		func(r []bq.Value) error {
			p := ModelPoint{Model: str(r[0]), Variant: str(r[1]), Key: str(r[2]), WindowEnd: ts(r[3]), Examples: i64(r[6])}
			p.Drift, _ = r[7].(bool)
			if r[4] != nil {
				p.Metric, p.Loss = "log_loss", f64(r[4])
			} else {
				p.Metric, p.Loss = "rmse", f64(r[5])
			}
			out = append(out, p)
			return nil
		})
	return out, err
}

// DeadLetters counts dead_letter rows per error text.
func (b BigQuerySource) DeadLetters(ctx context.Context) ([]DeadLetterCount, error) {
	var out []DeadLetterCount
	err := b.rows(ctx, "SELECT error, COUNT(*) FROM "+b.table("dead_letter")+" GROUP BY error",
		func(r []bq.Value) error {
			out = append(out, DeadLetterCount{Error: str(r[0]), Count: i64(r[1])})
			return nil
		})
	return out, err
}
