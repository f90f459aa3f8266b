// Package pane describes the window and pane of a windowed result row, so
// that a reader can keep the latest pane per window and key.
package pane

import (
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
)

// Timing names, as written in the pane_timing column.
const (
	Early   = "EARLY"
	OnTime  = "ON_TIME"
	Late    = "LATE"
	Unknown = "UNKNOWN"
)

// Info is the window and pane of one row.
type Info struct {
	WindowStart string
	WindowEnd   string
	Timing      string
	Index       int64
	IsFinal     bool
}

// Of describes window w and pane p. A non-interval window (the global
// window) has empty bounds.
func Of(w beam.Window, p beam.PaneInfo) Info {
	info := Info{Timing: Timing(p.Timing), Index: p.Index, IsFinal: p.IsLast}
	if iw, ok := w.(window.IntervalWindow); ok {
		info.WindowStart = Format(iw.Start)
		info.WindowEnd = Format(iw.End)
	}
	return info
}

// Timing names a pane timing.
func Timing(t typex.PaneTiming) string {
	switch t {
	case typex.PaneEarly:
		return Early
	case typex.PaneOnTime:
		return OnTime
	case typex.PaneLate:
		return Late
	}
	return Unknown
}

// Format writes an event time as RFC 3339 UTC with milliseconds trimmed
// when zero, the form every Pulse table uses.
func Format(t beam.EventTime) string {
	return FormatMillis(int64(t))
}

// FormatMillis formats Unix milliseconds like Format.
func FormatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// End returns the exclusive end of an interval window as Unix milliseconds,
// or the maximum timestamp for the global window.
func End(w beam.Window) int64 {
	if iw, ok := w.(window.IntervalWindow); ok {
		return int64(iw.End)
	}
	return int64(mtime.EndOfGlobalWindowTime)
}
