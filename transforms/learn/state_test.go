package learn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// The trainer state survives encode and decode exactly, and truncated
// state is an error rather than a panic or a silent reset.
func TestTrainerStateRoundTrip(t *testing.T) {
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","label":"label","bits":10,"features":{"categorical":["region"]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	m := &ms[0]
	tr, err := decodeTrainer(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	fz, err := m.Featurizer()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []string{"north", "south", "north", "east"} {
		e := event.Event{Region: r, Label: float64(i % 2)}
		tr.name(fz, &e)
		tr.l.PredictLearn(fz.Vector(&e), e.Label)
		tr.ph.Update(0.5)
	}
	tr.lastSnap, tr.lastVersion, tr.lastEnd = 60000, 3, 120000
	enc, err := tr.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeTrainer(m, enc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, again) {
		t.Error("state changed through decode and encode")
	}
	if back.l.Examples() != 4 || back.lastSnap != 60000 || back.lastVersion != 3 || back.lastEnd != 120000 || len(back.names) != 4 {
		t.Errorf("decoded %d examples, lastSnap %d, lastVersion %d, lastEnd %d, %d names",
			back.l.Examples(), back.lastSnap, back.lastVersion, back.lastEnd, len(back.names))
	}
	for cut := 1; cut < len(enc); cut += max(1, len(enc)/50) {
		if _, err := decodeTrainer(m, enc[:cut]); err == nil {
			t.Errorf("state truncated to %d of %d bytes decoded without error", cut, len(enc))
		}
	}
}

// routeBundle runs routeFn over one bundle of events and returns its
// partial batches by key and timestamp.
func routeBundle(t *testing.T, fn *routeFn, evs []event.Event) map[string][]timestamped {
	t.Helper()
	out := map[string][]timestamped{}
	emit := func(ts beam.EventTime, k string, b []byte) { out[k] = append(out[k], timestamped{ts, b}) }
	fn.StartBundle(emit)
	for _, e := range evs {
		fn.ProcessElement(beam.EventTime(e.EventTime), e, emit)
	}
	fn.FinishBundle(emit)
	return out
}

type timestamped struct {
	ts beam.EventTime
	b  []byte
}

// Examples routed in two bundles come out as partial batches per key and
// window, stamped with their earliest example; batchFn joins a window's
// partials into one batch that decodes to every example, and a truncated
// batch is an error.
func TestBatchRoundTrip(t *testing.T) {
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","label":"label","key":"category","features":{"categorical":["item_id"]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	fn := &routeFn{Models: ms, Batch: 60000}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	lab := func(id string, at int64, region string) event.Event {
		return event.Event{EventID: id, UserID: "u", ItemID: "i" + id, Action: event.Purchase, EventTime: at, Category: region, Label: 1, HasLabel: true}
	}
	b1 := routeBundle(t, fn, []event.Event{lab("a", 7, "n"), lab("b", 5, "n"), lab("c", 61000, "n"), lab("d", 9, "s")})
	b2 := routeBundle(t, fn, []event.Event{lab("e", 30000, "n")})
	kn, ks := Key(ms[0].ID(), "n"), Key(ms[0].ID(), "s")
	if len(b1[kn]) != 2 || len(b1[ks]) != 1 || len(b2[kn]) != 1 {
		t.Fatalf("partials per key: bundle 1 %d for n, %d for s; bundle 2 %d for n; want 2, 1, 1", len(b1[kn]), len(b1[ks]), len(b2[kn]))
	}
	if b1[kn][0].ts != 5 || b1[kn][1].ts != 61000 {
		t.Errorf("partials of n stamped %v and %v, want 5 (the earliest of the window) and 61000", b1[kn][0].ts, b1[kn][1].ts)
	}
	var buf []byte
	parts := [][]byte{b1[kn][0].b, b2[kn][0].b}
	i := 0
	err = (&batchFn{}).ProcessElement(window.IntervalWindow{Start: 0, End: 60000}, kn, func(p *[]byte) bool {
		if i == len(parts) {
			return false
		}
		*p = parts[i]
		i++
		return true
	}, func(_ string, b []byte) { buf = b })
	if err != nil {
		t.Fatal(err)
	}
	bt, err := decodeBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	sortEvents(bt.events)
	if bt.start != 0 || bt.end != 60000 || len(bt.events) != 3 || bt.events[0].EventID != "b" || bt.events[2].EventID != "e" ||
		!bt.events[1].HasLabel || bt.events[1].ItemID != "ia" {
		t.Errorf("decoded batch %+v", bt)
	}
	for cut := 1; cut < len(buf); cut++ {
		if _, err := decodeBatch(buf[:cut]); err == nil {
			t.Errorf("batch truncated to %d of %d bytes decoded without error", cut, len(buf))
		}
	}
	err = (&batchFn{}).ProcessElement(window.IntervalWindow{}, kn, func(p *[]byte) bool { *p = nil; return true }, func(string, []byte) {})
	if err == nil {
		t.Error("a partial batch without a count was joined without error")
	}
}

// A bundle larger than the bounds is emitted in pieces as it goes, and
// the pieces still hold every example once.
func TestRouteBoundsMemory(t *testing.T) {
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","label":"label","features":{"categorical":["item_id"]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	fn := &routeFn{Models: ms, Batch: 60000}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	// Large examples: the field is one the model reads, so routing keeps it.
	item := strings.Repeat("i", 2000)
	var evs []event.Event
	for i := range 3000 {
		evs = append(evs, event.Event{EventID: fmt.Sprint(i), ItemID: item, Action: event.Purchase, EventTime: int64(i), Label: 1, HasLabel: true})
	}
	out := routeBundle(t, fn, evs)
	k := Key(ms[0].ID(), "global")
	var n uint64
	for _, p := range out[k] {
		if len(p.b) > maxPartialBytes+4096 {
			t.Errorf("partial of %d bytes exceeds the %d bound", len(p.b), maxPartialBytes)
		}
		c, _ := binary.Uvarint(p.b)
		n += c
	}
	if len(out[k]) < 2 || n != 3000 {
		t.Errorf("%d partials holding %d examples, want several holding 3000", len(out[k]), n)
	}
}
