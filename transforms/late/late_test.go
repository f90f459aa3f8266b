package late_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/late"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	register.Function1x1(eventID)
	register.Function1x1(deadID)
}

func eventID(e event.Event) string { return e.EventID }

// deadID recovers the event id from a dead-letter row's raw JSON.
func deadID(r deadletter.Row) string {
	e, err := event.Decode([]byte(r.Raw))
	if err != nil || !strings.HasPrefix(r.Error, "too late") {
		return "bad row: " + r.Error
	}
	return e.EventID
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

func line(id string, at time.Duration) string {
	return fmt.Sprintf(`{"event_id":%q,"user_id":"u","item_id":"i","action":"view","event_time":%d}`, id, ms(at))
}

// With 1-minute windows and 5 minutes of lateness, the window [0, 1m)
// accepts data until the watermark passes 5m59.999s. An event for it that
// arrives after the watermark reached 10m is dead-lettered; one that
// arrives at watermark 3m, and one for a later window, are kept.
func TestGuardDeadLettersOnlyTooLateEvents(t *testing.T) {
	ts := teststream.NewConfig()
	must(t, ts.AdvanceWatermark(ms(0)))
	must(t, ts.AddElements(ms(10*time.Second), line("on-time", 10*time.Second)))
	must(t, ts.AdvanceWatermark(ms(3*time.Minute)))
	must(t, ts.AddElements(ms(3*time.Minute), line("late-but-allowed", 20*time.Second)))
	must(t, ts.AdvanceWatermark(ms(10*time.Minute)))
	must(t, ts.AddElements(ms(10*time.Minute), line("too-late", 30*time.Second), line("current", 10*time.Minute+time.Second)))
	must(t, ts.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, ts))
	kept, dead := late.Guard(s, time.Minute, 5*time.Minute, 1, events)
	global := func(c beam.PCollection) beam.PCollection { return beam.WindowInto(s, window.NewGlobalWindows(), c) }
	passert.Equals(s, global(beam.ParDo(s, eventID, kept)), "on-time", "late-but-allowed", "current")
	passert.Equals(s, global(beam.ParDo(s, deadID, dead)), "too-late")
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
