// Package clean applies Pulse's cleaning rules to parsed events. Each rule
// is counted, so that what cleaning changed can be reconciled:
//
//   - a missing category becomes "unknown" (counter events_category_missing);
//   - watch_seconds above 1.5 × duration_seconds (when the duration is known)
//     or above 24 hours is clipped to that limit (counter events_watch_clipped);
//   - a view without watch_seconds stays a view but adds nothing to watch-time
//     sums (rollup counts watched_views separately);
//   - ids and actions with surrounding space or upper case are normalised by
//     the decoder (counter events_normalized, in package parse).
package clean

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// Limits of the rules.
const (
	UnknownCategory = "unknown"
	MaxWatchSeconds = 24 * 60 * 60
	MaxWatchRatio   = 1.5
)

// Counter names, in the "pulse" namespace.
const (
	CounterCategoryMissing = "events_category_missing"
	CounterWatchClipped    = "events_watch_clipped"
)

// Fixes says which rules changed an event.
type Fixes struct {
	CategoryMissing bool
	WatchClipped    bool
}

// Event applies the rules to e in place and says what it changed.
func Event(e *event.Event) Fixes {
	var f Fixes
	if e.Category == "" {
		e.Category = UnknownCategory
		f.CategoryMissing = true
	}
	if e.HasWatch {
		limit := float64(MaxWatchSeconds)
		if e.HasDuration && e.DurationSeconds > 0 {
			limit = min(limit, MaxWatchRatio*e.DurationSeconds)
		}
		if e.WatchSeconds > limit {
			e.WatchSeconds = limit
			f.WatchClipped = true
		}
	}
	return f
}

func init() {
	register.DoFn3x0[context.Context, event.Event, func(event.Event)](&cleanFn{})
	register.Emitter1[event.Event]()
}

// Events applies the rules to every event of a PCollection<event.Event>.
func Events(s beam.Scope, events beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("CleanEvents"), &cleanFn{}, events)
}

type cleanFn struct {
	missing, clipped int64
}

func (fn *cleanFn) ProcessElement(ctx context.Context, e event.Event, emit func(event.Event)) {
	f := Event(&e)
	if f.CategoryMissing {
		fn.missing++
	}
	if f.WatchClipped {
		fn.clipped++
	}
	emit(e)
}

func (fn *cleanFn) FinishBundle(ctx context.Context, _ func(event.Event)) {
	counter.Flush(ctx, CounterCategoryMissing, &fn.missing)
	counter.Flush(ctx, CounterWatchClipped, &fn.clipped)
}
