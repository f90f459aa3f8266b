// Package monitor is Pulse's real-time monitoring pipeline: per-item and
// per-category activity in event-time windows, trending items, user
// sessions and anomaly alerts, from one cleaned event stream.
package monitor

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/rollup"
)

// Config sets the monitor's windows. The zero value of a field means its
// default.
type Config struct {
	// Window is the size of the tumbling windows of item and category
	// metrics (default 1 minute).
	Window time.Duration
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{Window: time.Minute}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Window == 0 {
		c.Window = d.Window
	}
	return c
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Window < time.Second {
		return fmt.Errorf("monitor: window %v is shorter than 1s", c.Window)
	}
	return nil
}

// Tables are the monitor's outputs, one PCollection of rows per table.
type Tables struct {
	ItemMetrics     beam.PCollection // ItemMetrics
	CategoryMetrics beam.PCollection // CategoryMetrics
}

func init() {
	register.Function4x1(itemRow)
	register.Function4x1(categoryRow)
}

// Build computes the monitor's tables from events, a PCollection of cleaned
// event.Event in the global window, timestamped with their event time.
func Build(s beam.Scope, cfg Config, events beam.PCollection) (Tables, error) {
	if err := cfg.Validate(); err != nil {
		return Tables{}, err
	}
	cfg = cfg.withDefaults()
	s = s.Scope("Monitor")
	fixed := rollup.Windowing{Fn: window.NewFixedWindows(cfg.Window)}

	items, err := rollup.PerKey(s, rollup.ByItem, fixed, events)
	if err != nil {
		return Tables{}, err
	}
	cats, err := rollup.PerKey(s, rollup.ByCategory, fixed, events)
	if err != nil {
		return Tables{}, err
	}
	return Tables{
		ItemMetrics:     beam.ParDo(s, itemRow, items),
		CategoryMetrics: beam.ParDo(s, categoryRow, cats),
	}, nil
}

func itemRow(p beam.PaneInfo, w beam.Window, item string, m rollup.Metrics) ItemMetrics {
	return ItemMetrics{PaneColumns: paneColumns(pane.Of(w, p)), ItemID: item, Category: m.Category, ActivityColumns: activityColumns(&m)}
}

func categoryRow(p beam.PaneInfo, w beam.Window, cat string, m rollup.Metrics) CategoryMetrics {
	return CategoryMetrics{PaneColumns: paneColumns(pane.Of(w, p)), Category: cat, ActivityColumns: activityColumns(&m)}
}
