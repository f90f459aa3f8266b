package batch_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/batch"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// TestBatcherRoundTrip adds events whose encodings need one, two and three
// bytes of length to two keys, and reads each key's batch back in order.
func TestBatcherRoundTrip(t *testing.T) {
	var want = map[string][]event.Event{}
	var b batch.Batcher[string]
	for i, n := range []int{0, 50, 200, 16300, 16400, 20000} {
		k := []string{"a", "b"}[i%2]
		e := event.Event{EventID: strings.Repeat("x", i+1), UserID: "u", Action: event.View, EventTime: int64(1000 - i), Text: strings.Repeat("t", n)}
		if b.Add(k, e.EventTime, &e) {
			t.Fatalf("Add reported full after %d events", i+1)
		}
		want[k] = append(want[k], e)
	}
	got := map[string][]event.Event{}
	minTS := map[string]int64{}
	b.Flush(func(k string, p batch.Part) {
		minTS[k] = p.MinTS
		err := batch.Each(p.Data, func(enc []byte) error {
			var e event.Event
			if err := e.UnmarshalBinary(enc); err != nil {
				return err
			}
			id, err := event.BinaryID(enc)
			if err != nil || string(id) != e.EventID {
				t.Errorf("BinaryID = %q, %v; want %q", id, err, e.EventID)
			}
			got[k] = append(got[k], e)
			return nil
		})
		if err != nil {
			t.Errorf("key %s: %v", k, err)
		}
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %d/%d events, want %d/%d, or they differ", len(got["a"]), len(got["b"]), len(want["a"]), len(want["b"]))
	}
	if minTS["a"] != 996 || minTS["b"] != 995 {
		t.Errorf("MinTS = %v, want a:996 b:995", minTS)
	}
	n := 0
	b.Flush(func(string, batch.Part) { n++ })
	if n != 0 {
		t.Errorf("a second Flush emitted %d batches, want none", n)
	}
}

func TestBatcherFull(t *testing.T) {
	var b batch.Batcher[int]
	e := event.Event{EventID: "e", Text: strings.Repeat("t", 1<<16)}
	adds := 0
	for !b.Add(adds%3, 0, &e) {
		adds++
	}
	if min, max := batch.MaxBytes/(1<<16+40), batch.MaxBytes/(1<<16); adds < min || adds > max {
		t.Errorf("full after %d adds of 64 KiB, want between %d and %d", adds+1, min, max)
	}
}

func TestEachRejectsCorruptFraming(t *testing.T) {
	e := event.Event{EventID: "e"}
	good := e.AppendFramed(nil)
	for _, bad := range [][]byte{good[:len(good)-1], {0xff}, append(good[:len(good):len(good)], 5)} {
		if err := batch.Each(bad, func([]byte) error { return nil }); err == nil {
			t.Errorf("Each(%x) accepted corrupt framing", bad)
		}
	}
	stop := errors.New("stop")
	if err := batch.Each(append(good[:len(good):len(good)], good...), func([]byte) error { return stop }); err != stop {
		t.Errorf("Each returned %v, want f's error", err)
	}
}

func TestStampedBatch(t *testing.T) {
	b := batch.Batcher[int]{Stamped: true}
	want := []int64{-5, 0, 1 << 40}
	for _, ts := range want {
		e := event.Event{EventID: "e", EventTime: 7}
		b.Add(0, ts, &e)
	}
	var got []int64
	b.Flush(func(_ int, p batch.Part) {
		if p.MinTS != -5 {
			t.Errorf("MinTS = %d, want -5", p.MinTS)
		}
		err := batch.EachStamped(p.Data, func(ts int64, enc []byte) error {
			var e event.Event
			if err := e.UnmarshalBinary(enc); err != nil || e.EventTime != 7 {
				t.Errorf("event %+v, %v; want event time 7", e, err)
			}
			got = append(got, ts)
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if err := batch.EachStamped(p.Data[:len(p.Data)-1], func(int64, []byte) error { return nil }); err == nil {
			t.Error("EachStamped accepted a truncated batch")
		}
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timestamps %v, want %v", got, want)
	}
}

func TestStart(t *testing.T) {
	for _, tc := range []struct{ t, size, want int64 }{
		{0, 60000, 0}, {59999, 60000, 0}, {60000, 60000, 60000}, {-1, 60000, -60000}, {-60000, 60000, -60000}, {-60001, 60000, -120000},
	} {
		if got := batch.Start(tc.t, tc.size); got != tc.want {
			t.Errorf("Start(%d, %d) = %d, want %d", tc.t, tc.size, got, tc.want)
		}
	}
}
