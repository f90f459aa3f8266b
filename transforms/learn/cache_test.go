package learn

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// cacheSpecs are one model of each learner kind the default specs use.
const cacheSpecs = `[
 {"name":"ftrl","kind":"logistic","optimizer":"ftrl","label":"label","bits":12,"auc_window":50,
  "features":{"categorical":["user_id","item_id","region"],"numeric":["duration_seconds"]}},
 {"name":"ada","kind":"linear","optimizer":"adagrad","label":"watch_seconds","bits":10,
  "features":{"categorical":["device","region"],"numeric":["duration_seconds"]}},
 {"name":"rls","kind":"rls","label":"amount","bits":5,"features":{"categorical":["device"]}}
]`

func cacheModels(t *testing.T) ([]spec.Model, map[string]*spec.Featurizer) {
	t.Helper()
	ms, err := spec.Parse([]byte(cacheSpecs))
	if err != nil {
		t.Fatal(err)
	}
	_, fzs, err := specsOf(ms)
	if err != nil {
		t.Fatal(err)
	}
	return ms, fzs
}

// exampleEvent is the i-th synthetic labelled event.
func exampleEvent(i int) event.Event {
	return event.Event{
		EventID: fmt.Sprint("e", i), UserID: fmt.Sprint("u", i%7), ItemID: fmt.Sprint("i", i%11),
		Region: []string{"north", "south", "east"}[i%3], Device: []string{"ios", "web"}[i%2],
		DurationSeconds: float64(i % 13), HasDuration: true, EventTime: int64(i) * 1000,
		Label: float64(i % 2), HasLabel: true, WatchSeconds: float64(i % 5), Amount: float64(i%9) + 0.5,
	}
}

// train feeds events [from, to) to t as a trainer firing does.
func train(t *trainer, fz *spec.Featurizer, m *spec.Model, from, to int) {
	for i := from; i < to; i++ {
		e := exampleEvent(i)
		y, _ := m.LabelOf(&e)
		t.name(fz, &e)
		p := t.l.PredictLearn(fz.Vector(&e), y)
		t.ph.Update(p - y)
		t.lastEnd = int64(to)
	}
}

// A cached trainer must be exactly what decoding its bytes gives: for
// each learner kind, a trainer kept in memory and one decoded from its
// encoding at every step go on learning to the same bytes.
func TestCachedTrainerEqualsDecoded(t *testing.T) {
	ms, fzs := cacheModels(t)
	for i := range ms {
		m := &ms[i]
		t.Run(m.Name, func(t *testing.T) {
			kept, err := decodeTrainer(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			var enc []byte
			for step := range 6 {
				decoded, err := decodeTrainer(m, enc)
				if err != nil {
					t.Fatal(err)
				}
				train(kept, fzs[m.ID()], m, step*40, step*40+40)
				train(decoded, fzs[m.ID()], m, step*40, step*40+40)
				a, err := kept.encode()
				if err != nil {
					t.Fatal(err)
				}
				b, err := decoded.encode()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("step %d: the trainer kept in memory encodes to other bytes than the one decoded each step", step)
				}
				enc = a
			}
		})
	}
}

// The cache serves a trainer only for the exact bytes it was put with:
// state rolled back by a retried bundle (older bytes), a key another
// instance trained meanwhile (other bytes), and empty state all decode
// afresh; a taken entry is gone until put again, so a firing that fails
// half-way cannot leave a half-trained trainer behind.
func TestTrainerCacheUsesOnlyMatchingState(t *testing.T) {
	ms, fzs := cacheModels(t)
	m, fz := &ms[0], fzs[ms[0].ID()]
	var c trainerCache
	const key = "ftrl\x00global"

	// Firing 1: no state yet.
	t1, err := c.take(m, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	train(t1, fz, m, 0, 50)
	v1, _ := t1.encode()
	c.put(key, v1, t1)

	// Firing 2 reads v1: a hit, the same trainer.
	t2, err := c.take(m, key, v1)
	if err != nil {
		t.Fatal(err)
	}
	if t2 != t1 || c.hits != 1 {
		t.Fatalf("firing on the bytes just written: hit %v (hits %d), want the cached trainer", t2 == t1, c.hits)
	}
	train(t2, fz, m, 50, 100)
	v2, _ := t2.encode()
	c.put(key, v2, t2)

	// The bundle of firing 2 fails: the runner rolls the state back to v1
	// and retries. The cache holds v2's trainer, which must not be used.
	t3, err := c.take(m, key, v1)
	if err != nil {
		t.Fatal(err)
	}
	if t3 == t2 {
		t.Fatal("a rolled-back state (v1) was served the trainer cached for v2")
	}
	if got := t3.l.Examples(); got != 50 {
		t.Errorf("trainer for rolled-back state has %d examples, want 50", got)
	}
	if again, _ := t3.encode(); !bytes.Equal(again, v1) {
		t.Error("trainer for rolled-back state does not encode to that state")
	}

	// A firing that fails after take (no put) leaves no entry: the next
	// firing on v1 decodes.
	hits := c.hits
	t4, err := c.take(m, key, v1)
	if err != nil {
		t.Fatal(err)
	}
	if t4 == t3 || c.hits != hits {
		t.Error("an entry taken by a failed firing was served again")
	}

	// Empty state (a key cleared, or never written) never hits.
	c.put(key, nil, t4)
	if t5, _ := c.take(m, key, nil); t5 == t4 || t5.l.Examples() != 0 {
		t.Error("empty state was served a cached trainer")
	}
}

func TestTrainerCacheIsBounded(t *testing.T) {
	ms, _ := cacheModels(t)
	var c trainerCache
	for i := range 3 * MaxCachedTrainers {
		tr, err := decodeTrainer(&ms[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		c.put(fmt.Sprint("k", i), []byte{1}, tr)
	}
	if len(c.m) > MaxCachedTrainers {
		t.Errorf("cache holds %d trainers, limit %d", len(c.m), MaxCachedTrainers)
	}
	if _, ok := c.m[fmt.Sprint("k", 3*MaxCachedTrainers-1)]; !ok {
		t.Error("the trainer put last was evicted")
	}
}

// BenchmarkTrainerFiring is a trainer firing's model work for a
// 2^18-weight FTRL model after 5 000 examples: take the trainer for the
// state, learn a batch of 100 examples, encode. "cached" takes it from the
// cache, "decoded" decodes it as every firing did before the cache.
func BenchmarkTrainerFiring(b *testing.B) {
	ms, err := spec.Parse([]byte(`[{"name":"e","kind":"logistic","optimizer":"ftrl","label":"label","bits":18,
	 "features":{"categorical":["user_id","item_id","region","device"],"numeric":["duration_seconds"]}}]`))
	if err != nil {
		b.Fatal(err)
	}
	_, fzs, err := specsOf(ms)
	if err != nil {
		b.Fatal(err)
	}
	m, fz := &ms[0], fzs[ms[0].ID()]
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "decoded", true: "cached"}[cached], func(b *testing.B) {
			var c trainerCache
			t0, _ := decodeTrainer(m, nil)
			train(t0, fz, m, 0, 5000)
			st, _ := t0.encode()
			c.put("k", st, t0)
			b.ReportAllocs()
			i := 5000
			for b.Loop() {
				if !cached {
					c.m = nil // every take misses and decodes
				}
				tr, err := c.take(m, "k", st)
				if err != nil {
					b.Fatal(err)
				}
				train(tr, fz, m, i, i+100)
				i += 100
				if st, err = tr.encode(); err != nil {
					b.Fatal(err)
				}
				c.put("k", st, tr)
			}
		})
	}
}
