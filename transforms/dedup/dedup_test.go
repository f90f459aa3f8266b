package dedup_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/parse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	register.Function1x1(idOf)
	register.Function1x1(copyParity)
	register.Function1x1(idAndText)
}

func idOf(e event.Event) string { return e.EventID }

// copyParity splits events in two by their text's last byte ("copy0",
// "copy1", ...), so the copies of an id go to both halves.
func copyParity(e event.Event) int { return int(e.Text[len(e.Text)-1]) % 2 }

// idAndText names which copy of an event survived: tests give each copy a
// different text.
func idAndText(e event.Event) string { return e.EventID + "/" + e.Text }

// t0 is 2026-01-01T00:00:00Z in Unix milliseconds.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

const minute = int64(time.Minute / time.Millisecond)

// line is one JSON event payload.
func line(id, text string, eventTime int64) string {
	return fmt.Sprintf(`{"event_id":%q,"user_id":"u1","item_id":"i1","action":"view","event_time":%d,"text":%q}`, id, eventTime, text)
}

// run runs p on prism and returns the pulse counters.
func run(t *testing.T, p *beam.Pipeline) map[string]int64 {
	t.Helper()
	res, err := beamx.RunWithMetrics(t.Context(), p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	m := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == parse.Namespace {
			m[c.Key.Name] += c.Committed
		}
	}
	return m
}

// TestBatch runs a bounded input in which five of twenty events are
// delivered two to four times, through Events (state), Replay (a
// GroupByKey) and ReplayParts: each keeps exactly one copy of each id.
func TestBatch(t *testing.T) {
	for name, dedupe := range map[string]func(beam.Scope, time.Duration, beam.PCollection) beam.PCollection{
		"Events": dedup.Events,
		"Replay": func(s beam.Scope, _ time.Duration, c beam.PCollection) beam.PCollection {
			return dedup.Replay(s, time.Minute, c)
		},
		// The parts together: each id in exactly one of them.
		"ReplayParts": func(s beam.Scope, _ time.Duration, c beam.PCollection) beam.PCollection {
			return beam.Flatten(s, dedup.ReplayParts(s, time.Minute, 3, c)...)
		},
		// Input in two parts too, with copies of an id in both.
		"ReplayPartsOfParts": func(s beam.Scope, _ time.Duration, c beam.PCollection) beam.PCollection {
			halves := beam.Partition(s, 2, copyParity, c)
			return beam.Flatten(s, dedup.ReplayParts(s, time.Minute, 2, halves...)...)
		},
	} {
		t.Run(name, func(t *testing.T) { testBatch(t, dedupe) })
	}
}

func testBatch(t *testing.T, dedupe func(beam.Scope, time.Duration, beam.PCollection) beam.PCollection) {
	extra := map[int]int{2: 1, 5: 3, 11: 2, 12: 1, 19: 3}
	var lines, ids []string
	wantDropped := 0
	for i := range 20 {
		id := fmt.Sprintf("e%02d", i)
		ids = append(ids, id)
		lines = append(lines, line(id, "copy0", t0+int64(i)*minute))
		for c := 1; c <= extra[i]; c++ {
			lines = append(lines, line(id, "copy"+strconv.Itoa(c), t0+int64(i)*minute))
			wantDropped++
		}
	}
	// Spread the copies through the input instead of next to each other.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", beam.CreateList(s, lines))
	out := dedupe(s, time.Hour, events)
	passert.Equals(s, beam.ParDo(s, idOf, out), beam.CreateList(s, ids))
	counters := run(t, p)

	if got := counters[dedup.CounterDuplicates]; got != int64(wantDropped) {
		t.Errorf("%s = %d, want %d", dedup.CounterDuplicates, got, wantDropped)
	}
	read, dead := counters[parse.CounterRead], counters[parse.CounterDead]
	if used := int64(len(ids)); read != used+dead+counters[dedup.CounterDuplicates] {
		t.Errorf("read %d != used %d + dead-lettered %d + de-duplicated %d", read, used, dead, counters[dedup.CounterDuplicates])
	}
}

// TestHorizon streams event A, a copy of A within the horizon, then copies
// of A and B after the watermark has passed A's (and perhaps B's) event
// time plus the horizon. A copy passes only if its id's timer has cleared
// the state, so the expected output changes with the horizon.
func TestHorizon(t *testing.T) {
	t.Run("Replay", testReplayHorizon)
	a, b := t0, t0+minute // event times of A and B
	after := t0 + 60*minute + minute/2

	for _, tc := range []struct {
		horizon     time.Duration
		want        []string
		wantDropped int64
	}{
		// The watermark passes A's expiry (t0+60m) but not B's (t0+61m).
		{time.Hour, []string{"A/first", "B/first", "A/after"}, 2},
		// Both expire before the last copies arrive.
		{30 * time.Minute, []string{"A/first", "B/first", "A/after", "B/after"}, 1},
		// Neither expires before the end of the stream.
		{2 * time.Hour, []string{"A/first", "B/first"}, 3},
		// Zero means the default, an hour.
		{0, []string{"A/first", "B/first", "A/after"}, 2},
	} {
		t.Run(tc.horizon.String(), func(t *testing.T) {
			// Elements carry their arrival time as Pub/Sub's publish time
			// would; parse restamps them with their event time.
			cfg := teststream.NewConfig()
			must(t, cfg.AddElements(t0, line("A", "first", a), line("B", "first", b)))
			must(t, cfg.AdvanceWatermark(t0+10*minute))
			must(t, cfg.AddElements(t0+10*minute, line("A", "within", a)))
			must(t, cfg.AdvanceWatermark(after))
			must(t, cfg.AddElements(after, line("A", "after", a), line("B", "after", b)))
			must(t, cfg.AdvanceWatermarkToInfinity())

			p, s := beam.NewPipelineWithRoot()
			events, _ := parse.Lines(s, "test", teststream.Create(s, cfg))
			out := dedup.Events(s, tc.horizon, events)
			passert.Equals(s, beam.ParDo(s, idAndText, out), beam.CreateList(s, tc.want))
			counters := run(t, p)
			if got := counters[dedup.CounterDuplicates]; got != tc.wantDropped {
				t.Errorf("%s = %d, want %d", dedup.CounterDuplicates, got, tc.wantDropped)
			}
		})
	}
}

// TestInterleaved streams many ids in rounds, each round's copies shuffled
// together. Every id first appears once, in one round, and its later
// copies come in later rounds, all within the horizon: exactly the first
// copy of every id must come out.
func TestInterleaved(t *testing.T) {
	const ids, rounds = 300, 4
	r := rand.New(rand.NewPCG(3, 4))
	batches := make([][]any, rounds)
	var want []string
	copies := 0
	for i := range ids {
		id := fmt.Sprintf("id%03d", i)
		et := t0 + int64(i)*1000
		first := r.IntN(rounds)
		want = append(want, fmt.Sprintf("%s/r%d", id, first))
		batches[first] = append(batches[first], line(id, fmt.Sprintf("r%d", first), et))
		copies++
		for range r.IntN(4) {
			if first == rounds-1 {
				break
			}
			later := first + 1 + r.IntN(rounds-1-first)
			batches[later] = append(batches[later], line(id, fmt.Sprintf("r%d", later), et))
			copies++
		}
	}
	if copies == ids {
		t.Fatal("the generated input has no duplicates")
	}
	cfg := teststream.NewConfig()
	for k, batch := range batches {
		r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		ts := t0 + int64(k)*10*minute
		must(t, cfg.AddElements(ts, batch...))
		must(t, cfg.AdvanceWatermark(ts+5*minute))
	}
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", teststream.Create(s, cfg))
	out := dedup.Events(s, time.Hour, events)
	passert.Equals(s, beam.ParDo(s, idAndText, out), beam.CreateList(s, want))
	counters := run(t, p)
	if got, want := counters[dedup.CounterDuplicates], int64(copies-ids); got != want {
		t.Errorf("%s = %d, want %d", dedup.CounterDuplicates, got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testReplayHorizon checks Replay's documented difference from Events: it
// drops copies at the same event time and keeps copies of an id at other
// times.
func testReplayHorizon(t *testing.T) {
	lines := []string{
		line("a", "first", t0),
		line("a", "same-time", t0),
		line("a", "later", t0+30*minute),
		line("b", "only", t0),
	}
	p, s := beam.NewPipelineWithRoot()
	events, _ := parse.Lines(s, "test", beam.CreateList(s, lines))
	out := dedup.Replay(s, time.Minute, events)
	passert.Equals(s, beam.ParDo(s, idOf, out), "a", "a", "b")
	counters := run(t, p)
	if got := counters[dedup.CounterDuplicates]; got != 1 {
		t.Errorf("%s = %d, want 1", dedup.CounterDuplicates, got)
	}
}
