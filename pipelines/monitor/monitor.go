// Package monitor is Pulse's real-time monitoring pipeline: per-item and
// per-category activity in event-time windows, trending items, user
// sessions and anomaly alerts, from one cleaned event stream.
package monitor

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/rollup"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

// Config sets the monitor's windows and triggers. The zero value of a
// field means its default (see Defaults).
type Config struct {
	// Window is the size of the tumbling windows of item and category
	// metrics.
	Window time.Duration
	// Trending configures the sliding-window top-K rankings.
	Trending trending.Config
	// SessionGap is the inactivity that ends a user session (default 30m).
	SessionGap time.Duration
	// Alerts configures anomaly detection on category and global activity.
	Alerts alerts.Config
	// Streaming selects the streaming triggers: early and late panes.
	// Without it each window fires once, when the watermark passes its end,
	// which is what a replayed file wants: one final ON_TIME pane per row.
	Streaming bool
	// EarlyFiring is the processing-time delay between early panes in
	// streaming (default 10 s); negative fires no early panes.
	EarlyFiring time.Duration
	// Lateness is how long after a window's end late events still update
	// it, each in a LATE pane. Later data is counted, then dropped.
	Lateness time.Duration
}

// Defaults returns the default configuration: 1-minute windows, trending
// over 5 minutes every minute, top 10, 5 minutes of allowed lateness, and
// in streaming early panes every 10 s of processing time.
func Defaults() Config {
	return Config{Window: time.Minute, Lateness: 5 * time.Minute, EarlyFiring: 10 * time.Second}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := Defaults()
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.Lateness == 0 {
		c.Lateness = d.Lateness
	}
	if c.EarlyFiring == 0 {
		c.EarlyFiring = d.EarlyFiring
	}
	if c.SessionGap == 0 {
		c.SessionGap = sessions.DefaultGap
	}
	return c
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.Window < time.Second {
		return fmt.Errorf("monitor: window %v is shorter than 1s", c.Window)
	}
	if c.Lateness < 0 {
		return fmt.Errorf("monitor: allowed lateness %v is negative", c.Lateness)
	}
	if c.SessionGap < time.Second {
		return fmt.Errorf("monitor: session gap %v is shorter than 1s", c.SessionGap)
	}
	if err := c.Alerts.Validate(); err != nil {
		return err
	}
	return c.Trending.Validate()
}

// WindowOptions returns the trigger, accumulation mode and allowed lateness
// that every windowed table uses. In streaming: early panes every
// EarlyFiring of processing time, a pane when the watermark passes the
// window's end, a late pane for each late event within Lateness, and
// accumulating panes, so that the latest pane of a window and key holds its
// complete value. In batch: the default trigger, one pane per window.
func (c Config) WindowOptions() []beam.WindowIntoOption {
	c = c.WithDefaults()
	if !c.Streaming {
		return nil
	}
	tr := trigger.AfterEndOfWindow().LateFiring(trigger.Repeat(trigger.AfterCount(1)))
	if c.EarlyFiring > 0 {
		tr = tr.EarlyFiring(trigger.Repeat(trigger.AfterProcessingTime().PlusDelay(c.EarlyFiring)))
	}
	return []beam.WindowIntoOption{beam.Trigger(tr), beam.PanesAccumulate(), beam.AllowedLateness(c.Lateness)}
}

// Tables are the monitor's outputs, one PCollection of rows per table.
type Tables struct {
	ItemMetrics     beam.PCollection // ItemMetrics
	CategoryMetrics beam.PCollection // CategoryMetrics
	Trending        beam.PCollection // trending.Row
	UserSessions    beam.PCollection // sessions.Row
	Alerts          beam.PCollection // alerts.Row
}

func init() {
	register.Function4x1(itemRow)
	register.Function4x1(categoryRow)
}

// Build computes the monitor's tables from events, a PCollection of cleaned
// event.Event in the global window, timestamped with their event time, or
// several that are its parts (dedup.ReplayParts; see package parts). A
// stream comes in one part.
func Build(s beam.Scope, cfg Config, events ...beam.PCollection) (Tables, error) {
	if err := cfg.Validate(); err != nil {
		return Tables{}, err
	}
	cfg = cfg.WithDefaults()
	s = s.Scope("Monitor")
	opts := cfg.WindowOptions()
	fixed := rollup.Windowing{Fn: window.NewFixedWindows(cfg.Window), Options: opts}

	items, err := rollup.PerKey(s, rollup.ByItem, fixed, events...)
	if err != nil {
		return Tables{}, err
	}
	cats, err := rollup.PerKey(s, rollup.ByCategory, fixed, events...)
	if err != nil {
		return Tables{}, err
	}
	global, err := rollup.PerKey(s, rollup.Global, fixed, events...)
	if err != nil {
		return Tables{}, err
	}
	acfg := cfg.Alerts
	acfg.Streaming = cfg.Streaming
	anomalies, err := alerts.Build(s, acfg, cats, global)
	if err != nil {
		return Tables{}, err
	}
	tcfg := cfg.Trending
	tcfg.Options = opts
	top, err := trending.Build(s, tcfg, events...)
	if err != nil {
		return Tables{}, err
	}
	return Tables{
		ItemMetrics:     beam.ParDo(s, itemRow, items),
		CategoryMetrics: beam.ParDo(s, categoryRow, cats),
		Trending:        top,
		UserSessions:    userSessions(s, cfg, events),
		Alerts:          anomalies,
	}, nil
}

// userSessions splits each user's events at the session gap. A stream is
// sessionised by a stateful DoFn (sessions.Stream), because prism merges
// session windows wrongly under a moving watermark; a replay by a per-user
// GroupByKey (sessions.Build).
func userSessions(s beam.Scope, cfg Config, events []beam.PCollection) beam.PCollection {
	if cfg.Streaming {
		return sessions.Stream(s, cfg.SessionGap, beam.Flatten(s, events...))
	}
	return sessions.Build(s, cfg.SessionGap, nil, events...)
}

func itemRow(p beam.PaneInfo, w beam.Window, item string, m rollup.Metrics) ItemMetrics {
	return ItemMetrics{PaneColumns: paneColumns(pane.Of(w, p)), ItemID: item, Category: m.Category, ActivityColumns: activityColumns(&m)}
}

func categoryRow(p beam.PaneInfo, w beam.Window, cat string, m rollup.Metrics) CategoryMetrics {
	return CategoryMetrics{PaneColumns: paneColumns(pane.Of(w, p)), Category: cat, ActivityColumns: activityColumns(&m)}
}
