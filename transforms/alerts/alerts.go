// Package alerts finds anomalies in windowed activity: a sudden surge or
// drop of the event rate of a category or of the whole stream, or of the
// share one action takes of it (say, shares jump or views collapse).
//
// Each window's value is scored against an exponentially weighted baseline
// (EWMA mean and variance) of the key's earlier windows:
//
//	z = (value - mean) / max(sd, noise)
//
// where noise is the sampling noise of one window (√mean for the rate,
// binomial for a share), so that a series that never moved does not fire
// on the first event more or less. A window is reported as Warning when
// |z| ≥ Config.Z and Critical when |z| ≥ 2·Config.Z, once the baseline has
// seen Config.Warmup windows and holds at least Config.MinVolume events
// per window on average.
//
// Windows are scored in event-time order per key, on any runner, by a
// stateful DoFn in the global window: it buffers each window in Bag state
// until an event-time timer at the window's end fires, then scores every
// buffered window that has ended, oldest first. A window a key had no
// events in counts as zero events: the gap between two windows of a key
// is scored as empty windows when the later one arrives, and with
// Config.Silence the windows after a key's last one are scored as empty
// as the watermark passes them.
package alerts

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/rollup"
)

// Table is the name of the alerts table.
const Table = "alerts"

// Scopes, as written in the scope column.
const (
	ScopeGlobal   = "global"
	ScopeCategory = "category"
)

// Metrics, as written in the metric column: the event rate, or the share
// of an action, MetricSharePrefix + the action's name ("share:share").
const (
	MetricEvents      = "events"
	MetricSharePrefix = "share:"
)

// Severities, as written in the severity column.
const (
	Warning  = "warning"  // |z| ≥ Config.Z
	Critical = "critical" // |z| ≥ 2·Config.Z
)

// Counter names, in the parse.Namespace namespace.
const (
	// CounterEmitted counts alert rows.
	CounterEmitted = "alerts_emitted"
	// CounterEarlyPanes counts EARLY panes of the input, which are ignored.
	CounterEarlyPanes = "alerts_early_panes_ignored"
	// CounterLatePanes counts LATE panes of the input, which are ignored.
	CounterLatePanes = "alerts_late_panes_ignored"
	// CounterLateWindows counts windows that reached the scorer after
	// their key had scored a later window (or the same one), and so were
	// dropped.
	CounterLateWindows = "alerts_late_windows_dropped"
)

// Row is one row of the alerts table: one metric of one key in one window
// that strayed from its baseline.
type Row struct {
	// WindowEnd is the end of the window, RFC 3339.
	WindowEnd string `json:"window_end" bigquery:"window_end"`
	// Scope is ScopeGlobal or ScopeCategory.
	Scope string `json:"scope" bigquery:"scope"`
	// Key is the category, or "global".
	Key string `json:"key" bigquery:"key"`
	// Metric is MetricEvents or a share, like "share:share".
	Metric string `json:"metric" bigquery:"metric"`
	// Value is the window's event count or share (0 to 1).
	Value float64 `json:"value" bigquery:"value"`
	// Baseline is the exponentially weighted mean of the earlier windows.
	Baseline float64 `json:"baseline" bigquery:"baseline"`
	// Zscore is how many standard deviations Value is from Baseline;
	// positive for a surge, negative for a drop.
	Zscore float64 `json:"zscore" bigquery:"zscore"`
	// Severity is Warning or Critical.
	Severity string `json:"severity" bigquery:"severity"`
}

// Config tunes the detector. The zero value of a field means its default.
type Config struct {
	// Alpha is the weight of the newest window in the baseline, in (0, 1]
	// (default 0.1: the baseline remembers about 1/Alpha windows).
	Alpha float64
	// Z is the |z| from which a window is reported: Warning from Z,
	// Critical from 2·Z (default 4).
	Z float64
	// MinVolume is the least mean events per window a baseline must have
	// for its key to be scored, and the least events a window must have
	// for its shares to be scored or learnt (default 20).
	MinVolume int64
	// Warmup is the number of windows a baseline must have seen before it
	// reports (default 10).
	Warmup int64
	// Silence is how many windows after a key's last window are scored
	// as empty, so that a key that stops altogether is reported (default
	// 0: none, and a drop to zero is reported when the key comes back).
	// It suits unbounded input only: the end of a bounded input looks
	// like every key falling silent.
	Silence int64
	// Streaming scores windows as the watermark passes them, in a stateful
	// DoFn. Without it the input is a bounded replay, and each key's
	// windows are grouped and scored in one pass: on prism the stateful
	// path costs runner round trips per window, far too many for days of
	// minutes.
	Streaming bool
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{Alpha: 0.1, Z: 4, MinVolume: 20, Warmup: 10}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Alpha == 0 {
		c.Alpha = d.Alpha
	}
	if c.Z == 0 {
		c.Z = d.Z
	}
	if c.MinVolume == 0 {
		c.MinVolume = d.MinVolume
	}
	if c.Warmup == 0 {
		c.Warmup = d.Warmup
	}
	return c
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Alpha > 0 && c.Alpha <= 1):
		return fmt.Errorf("alerts: alpha %v is not in (0, 1]", c.Alpha)
	case !(c.Z > 0):
		return fmt.Errorf("alerts: z threshold %v is not positive", c.Z)
	case c.MinVolume < 0:
		return fmt.Errorf("alerts: min volume %d is negative", c.MinVolume)
	case c.Warmup < 0:
		return fmt.Errorf("alerts: warmup %d is negative", c.Warmup)
	case c.Silence < 0:
		return fmt.Errorf("alerts: silence %d is negative", c.Silence)
	}
	return nil
}

func init() {
	beam.RegisterType(reflect.TypeOf(Row{}))
	beam.RegisterType(reflect.TypeOf(windowCounts{}))
	beam.RegisterType(reflect.TypeOf(series{}))
	register.DoFn5x0[beam.PaneInfo, beam.Window, string, rollup.Metrics, func(string, windowCounts)](&keyFn{})
	register.Emitter2[string, windowCounts]()
}

// Build scores perCategory and global, the outputs of rollup.PerKey by
// rollup.ByCategory and rollup.Global in fixed windows, and returns the
// alerts, a PCollection<Row> in the global window. Either input may be
// the zero PCollection, to score only the other.
//
// Only each window's final pane is scored: its ON_TIME pane, or its single
// pane when the input is not triggered (batch). EARLY panes are ignored;
// with early firings the rollup must accumulate (beam.PanesAccumulate) so
// that the ON_TIME pane holds the whole window. LATE panes are ignored
// too: by then the baseline has moved past their window, and the alerts
// reflect what was known when the watermark passed it. Both are counted.
func Build(s beam.Scope, cfg Config, perCategory, global beam.PCollection) (beam.PCollection, error) {
	if err := cfg.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	cfg = cfg.withDefaults()
	s = s.Scope("Alerts")
	var keyed []beam.PCollection
	for _, in := range []struct {
		scope string
		col   beam.PCollection
	}{{ScopeCategory, perCategory}, {ScopeGlobal, global}} {
		if !in.col.IsValid() {
			continue
		}
		if ws := in.col.WindowingStrategy(); ws == nil || ws.Fn.Kind != window.FixedWindows {
			return beam.PCollection{}, fmt.Errorf("alerts: %s input is not in fixed windows", in.scope)
		}
		keyed = append(keyed, beam.ParDo(s.Scope(in.scope), &keyFn{Scope: in.scope}, in.col))
	}
	if len(keyed) == 0 {
		return beam.PCollection{}, fmt.Errorf("alerts: no input")
	}
	// The baseline spans windows, so its state must live in the global
	// window; the windows' bounds travel in the elements.
	all := beam.WindowInto(s, window.NewGlobalWindows(), beam.Flatten(s, keyed...))
	if !cfg.Streaming {
		return beam.ParDo(s, &replayFn{Cfg: cfg}, beam.GroupByKey(s, all)), nil
	}
	return beam.ParDo(s, newScoreFn(cfg), all), nil
}

// windowCounts is one key's final pane of one window.
type windowCounts struct {
	// End is the window's end, Unix ms.
	End int64
	// Size is the window's length, ms.
	Size int64
	// Actions are rollup.Metrics.Actions: all events, then per action.
	Actions []int64
}

// keep reports whether a pane is its window's final on-time result.
func keep(p beam.PaneInfo) bool {
	return p.Timing == typex.PaneOnTime || p.Timing == typex.PaneUnknown
}

// keyFn keys each final pane by scope and key, as "scope|key", and
// carries its window bounds into the element.
type keyFn struct {
	Scope string `json:"scope"`

	early, late int64
}

func (fn *keyFn) ProcessElement(p beam.PaneInfo, w beam.Window, key string, m rollup.Metrics, emit func(string, windowCounts)) {
	if !keep(p) {
		if p.Timing == typex.PaneEarly {
			fn.early++
		} else {
			fn.late++
		}
		return
	}
	// Build checked that the windows are fixed, hence intervals.
	iw := w.(window.IntervalWindow)
	emit(fn.Scope+"|"+key, windowCounts{End: int64(iw.End), Size: int64(iw.End - iw.Start), Actions: m.Actions[:]})
}

// FinishBundle takes the emitter only because Beam requires a FinishBundle
// with parameters to mirror ProcessElement's emitters.
func (fn *keyFn) FinishBundle(ctx context.Context, _ func(string, windowCounts)) {
	counter.Flush(ctx, CounterEarlyPanes, &fn.early)
	counter.Flush(ctx, CounterLatePanes, &fn.late)
}
