package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/learn"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

// Table folders read by DirSource that the monitor package does not name.
const (
	tableModelMetrics = "model_metrics"
	tableDeadLetter   = "dead_letter"
)

// DirSource reads the tables of a local output directory, as written by
// `pulse --output=DIR` (one folder of JSON lines per table).
type DirSource struct {
	Dir string
}

var _ Source = DirSource{}

// Name returns the directory.
func (d DirSource) Name() string { return d.Dir }

// read returns the rows of table, or none when its folder does not exist.
func read[T any](d DirSource, table string) ([]T, bool, error) {
	dir := filepath.Join(d.Dir, table)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	rows, err := jsonl.Read[T](dir)
	if err != nil {
		return nil, false, fmt.Errorf("report: %w", err)
	}
	return rows, true, nil
}

func parseTime(table, field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("report: %s: bad %s %q: %w", table, field, s, err)
	}
	return t.UTC(), nil
}

// ActionCounts sums the final category_metrics rows per window and action,
// or the item_metrics rows when there is no category_metrics folder.
func (d DirSource) ActionCounts(ctx context.Context) ([]ActionCount, error) {
	table := monitor.TableCategoryMetrics
	cats, ok, err := read[monitor.CategoryMetrics](d, table)
	if err != nil {
		return nil, err
	}
	type row struct {
		monitor.PaneColumns
		monitor.ActivityColumns
	}
	var rows []row
	if ok {
		for _, r := range cats {
			rows = append(rows, row{r.PaneColumns, r.ActivityColumns})
		}
	} else {
		table = monitor.TableItemMetrics
		items, _, err := read[monitor.ItemMetrics](d, table)
		if err != nil {
			return nil, err
		}
		for _, r := range items {
			rows = append(rows, row{r.PaneColumns, r.ActivityColumns})
		}
	}
	sums := map[time.Time]*[9]int64{}
	for _, r := range rows {
		if !r.IsFinal {
			continue
		}
		start, err := parseTime(table, "window_start", r.WindowStart)
		if err != nil {
			return nil, err
		}
		s := sums[start]
		if s == nil {
			s = new([9]int64)
			sums[start] = s
		}
		a := r.ActivityColumns
		for i, n := range [9]int64{a.Views, a.Clicks, a.Likes, a.Comments, a.Shares, a.Favorites, a.Carts, a.Purchases, a.Payments} {
			s[i] += n
		}
	}
	var out []ActionCount
	for start, s := range sums {
		for i, n := range s {
			out = append(out, ActionCount{WindowStart: start, Action: Actions[i], Events: n})
		}
	}
	return out, nil
}

// TrendingRanks returns the final rows of the global trending lists.
func (d DirSource) TrendingRanks(ctx context.Context) ([]TrendingRank, error) {
	rows, _, err := read[trending.Row](d, monitor.TableTrending)
	if err != nil {
		return nil, err
	}
	var out []TrendingRank
	for _, r := range rows {
		if !r.IsFinal || r.Scope != "global" {
			continue
		}
		end, err := parseTime(monitor.TableTrending, "window_end", r.WindowEnd)
		if err != nil {
			return nil, err
		}
		out = append(out, TrendingRank{WindowEnd: end, Rank: r.Rank, ItemID: r.ItemID, Score: r.Score})
	}
	return out, nil
}

// SessionLengths counts the final user_sessions rows per number of events.
func (d DirSource) SessionLengths(ctx context.Context) ([]SessionLength, error) {
	rows, _, err := read[sessions.Row](d, monitor.TableUserSessions)
	if err != nil {
		return nil, err
	}
	byLen := map[int64]*SessionLength{}
	for _, r := range rows {
		if !r.IsFinal {
			continue
		}
		l := byLen[r.Events]
		if l == nil {
			l = &SessionLength{Events: r.Events}
			byLen[r.Events] = l
		}
		l.Sessions++
		if r.Converted {
			l.Converted++
		}
	}
	out := make([]SessionLength, 0, len(byLen))
	for _, l := range byLen {
		out = append(out, *l)
	}
	return out, nil
}

// ModelLoss returns log_loss for logistic models and rmse for regressions,
// per model_metrics row; rows with neither are skipped.
func (d DirSource) ModelLoss(ctx context.Context) ([]ModelPoint, error) {
	rows, _, err := read[learn.Metrics](d, tableModelMetrics)
	if err != nil {
		return nil, err
	}
	var out []ModelPoint
	for _, r := range rows {
		p := ModelPoint{Model: r.Model, Variant: r.Variant, Key: r.Key, Examples: r.Examples, Drift: r.Drift}
		switch {
		case r.LogLoss != nil:
			p.Metric, p.Loss = "log_loss", *r.LogLoss
		case r.RMSE != nil:
			p.Metric, p.Loss = "rmse", *r.RMSE
		default:
			continue
		}
		if p.WindowEnd, err = parseTime(tableModelMetrics, "window_end", r.WindowEnd); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// DeadLetters counts the dead_letter rows per error text.
func (d DirSource) DeadLetters(ctx context.Context) ([]DeadLetterCount, error) {
	rows, _, err := read[deadletter.Row](d, tableDeadLetter)
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Error]++
	}
	out := make([]DeadLetterCount, 0, len(counts))
	for e, n := range counts {
		out = append(out, DeadLetterCount{Error: e, Count: n})
	}
	return out, nil
}
