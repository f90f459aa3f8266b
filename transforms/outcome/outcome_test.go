package outcome_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/outcome"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() { register.Function2x1(describe) }

// describe renders a labelled view with its output timestamp, in minutes
// after t0: the end of the one-minute batch in which it was decided.
func describe(ts beam.EventTime, e event.Event) string {
	return fmt.Sprintf("%s=%v@%d", e.EventID, e.Label, (int64(ts)-t0)/60000)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

func line(id, user, item, action string, minute int64) string {
	return fmt.Sprintf(`{"event_id":%q,"user_id":%q,"item_id":%q,"action":%q,"event_time":%d}`, id, user, item, action, t0+minute*60000)
}

// Labels follow event time whatever the arrival order: an engagement that
// arrives before its view still labels it; one exactly 30 minutes after
// the view counts, one 31 minutes after does not; labels are stamped at
// the end of the batch that decided them.
func TestLabelInEventTime(t *testing.T) {
	cfg := teststream.NewConfig()
	cfg.AdvanceWatermark(t0)
	// Arrival order differs from event time order.
	cfg.AddElements(t0,
		line("like-a", "u1", "i1", "like", 10), // before its view arrives
		line("view-a", "u1", "i1", "view", 2),
		line("view-b", "u2", "i1", "view", 0),
		line("view-c", "u2", "i1", "view", 5),
		line("click", "u2", "i1", "click", 6), // not an engagement
		line("view-d", "u3", "i2", "view", 0),
		line("view-e", "u4", "i2", "view", 1),
		line("cart", "u4", "i2", "cart", 3), // not an engagement
	)
	cfg.AdvanceWatermark(t0 + 20*60000)
	cfg.AddElements(t0+20*60000,
		line("share-bc", "u2", "i1", "share", 30), // covers view-b (exactly 30 min) and view-c
		line("buy-d", "u3", "i2", "purchase", 31), // 31 min after view-d: too late
	)
	cfg.AdvanceWatermarkToInfinity()

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, cfg))
	got := beam.ParDo(s, describe, outcome.Label(s, 30*time.Minute, 0, events)[0])
	passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), got),
		"view-a=1@11", "view-b=1@31", "view-c=1@31", "view-d=0@31", "view-e=0@32")
	ptest.RunAndValidate(t, p)
}

// Events that come in parts are labelled in as many parts, each user's
// views in one, with the labels of the events in one part.
func TestLabelInParts(t *testing.T) {
	var lines [3][]string // all, and two parts
	for u := range 40 {
		user := fmt.Sprint("u", u)
		for k, ev := range []string{
			line(fmt.Sprint("view-", u), user, "i1", "view", int64(u%7)),
			line(fmt.Sprint("view2-", u), user, "i2", "view", int64(u%5)),
			line(fmt.Sprint("like-", u), user, "i1", "like", int64(u%7+u%45)), // engages when u%45 <= 30
		} {
			lines[0] = append(lines[0], ev)
			lines[1+(u+k)%2] = append(lines[1+(u+k)%2], ev)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	one, _ := parse.Lines(s.Scope("One"), "test", beam.CreateList(s, lines[0]))
	p0, _ := parse.Lines(s.Scope("Part0"), "test", beam.CreateList(s, lines[1]))
	p1, _ := parse.Lines(s.Scope("Part1"), "test", beam.CreateList(s, lines[2]))
	want := outcome.Label(s.Scope("One"), 30*time.Minute, 0, one)
	got := outcome.Label(s.Scope("Two"), 30*time.Minute, 0, p0, p1)
	if len(want) != 1 || len(got) != 2 {
		t.Fatalf("%d and %d parts, want 1 and 2", len(want), len(got))
	}
	passert.Count(s, want[0], "views", 80)
	passert.Equals(s, beam.ParDo(s, describe, beam.Flatten(s, got...)), beam.ParDo(s, describe, want[0]))
	for _, part := range got {
		passert.NonEmpty(s, part)
	}
	ptest.RunAndValidate(t, p)
}
