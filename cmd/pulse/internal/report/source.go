// Package report renders what a Pulse run found as one self-contained HTML
// page of charts: events per minute by action, trending items over time,
// session lengths and conversion, each model's progressive loss with its
// drift points and champion, and dead letters by reason.
//
// The rows come from a Source: DirSource reads a local output directory;
// a BigQuery source can answer the same few questions with SQL.
package report

import (
	"context"
	"time"
)

// Source answers the questions the charts ask of Pulse's tables. Every
// method reads final panes only (is_final) where the table has panes, and
// returns an empty slice, not an error, when the table is absent.
type Source interface {
	// Name says where the rows come from, for the page's header.
	Name() string
	// ActionCounts returns, per 1-minute window and action, the events
	// of all categories (category_metrics, or item_metrics without it).
	ActionCounts(ctx context.Context) ([]ActionCount, error)
	// TrendingRanks returns the global trending lists (scope "global").
	TrendingRanks(ctx context.Context) ([]TrendingRank, error)
	// SessionLengths returns how many sessions had each number of events,
	// and how many of those converted (user_sessions).
	SessionLengths(ctx context.Context) ([]SessionLength, error)
	// ModelLoss returns each model's progressive loss per batch window
	// (model_metrics).
	ModelLoss(ctx context.Context) ([]ModelPoint, error)
	// DeadLetters returns how many dead_letter rows have each error text.
	DeadLetters(ctx context.Context) ([]DeadLetterCount, error)
}

// Actions are the action columns of the metrics tables, in funnel order.
var Actions = []string{"view", "click", "like", "comment", "share", "favorite", "cart", "purchase", "payment"}

// ActionCount is the number of events of one action in one window.
type ActionCount struct {
	WindowStart time.Time
	Action      string
	Events      int64
}

// TrendingRank is one item's place in one trending list.
type TrendingRank struct {
	WindowEnd time.Time
	Rank      int64
	ItemID    string
	Score     float64
}

// SessionLength counts the sessions that had Events events.
type SessionLength struct {
	Events    int64
	Sessions  int64
	Converted int64
}

// ModelPoint is one model's progressive loss at the end of a batch window.
type ModelPoint struct {
	Model, Variant, Key string
	WindowEnd           time.Time
	// Metric names Loss: "log_loss" for logistic models, "rmse" for
	// regressions.
	Metric   string
	Loss     float64
	Examples int64
	// Drift is set when the model's drift detector fired in this window.
	Drift bool
}

// DeadLetterCount is the number of dead letters with one error text.
type DeadLetterCount struct {
	Error string
	Count int64
}
