package learn

import (
	"bytes"
	"testing"

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

func TestBatchRoundTrip(t *testing.T) {
	evs := []event.Event{{EventID: "a", UserID: "u", ItemID: "i", Action: event.View, EventTime: 5}, {EventID: "b", UserID: "v", ItemID: "j", Action: event.Like, EventTime: 7, Label: 1, HasLabel: true}}
	var buf []byte
	fn := &batchFn{}
	i := 0
	fn.ProcessElement(window.IntervalWindow{Start: 0, End: 60000}, "k", func(e *event.Event) bool {
		if i == len(evs) {
			return false
		}
		*e = evs[i]
		i++
		return true
	}, func(_ string, b []byte) { buf = b })
	bt, err := decodeBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	if bt.start != 0 || bt.end != 60000 || len(bt.events) != 2 || bt.events[1].EventID != "b" || !bt.events[1].HasLabel || bt.events[0].UserID != "u" {
		t.Errorf("decoded batch %+v", bt)
	}
	for cut := 1; cut < len(buf); cut++ {
		if _, err := decodeBatch(buf[:cut]); err == nil {
			t.Errorf("batch truncated to %d of %d bytes decoded without error", cut, len(buf))
		}
	}
}
