package learn

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/spec"
	"github.com/pulse-analytics/pulse/transforms/statetest"
)

// runScorer feeds one shard's scorer a batch per minute and the merged
// model of every second minute, as the merger sends them, fires its timer
// at every batch and returns the predictions as "id v<version> <score>".
// forget drops the worker's copies before every call; retry runs every
// call first on state that is then rolled back, as a failed bundle is.
func runScorer(t *testing.T, forget, retry bool) []string {
	t.Helper()
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","label":"label","shards":2,"merge":"2m","features":{"categorical":["region"]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	m := &ms[0]
	fz, err := m.Featurizer()
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.NewLearner()
	if err != nil {
		t.Fatal(err)
	}
	fn := newScoreFn(ms, false)
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	st := statetest.New()
	var got []string
	emit := func(p Prediction) { got = append(got, fmt.Sprintf("%s v%d %.6f", p.EventID, p.Version, p.Prediction)) }
	call := func(f func(sp state.Provider, emit func(Prediction)) error) {
		if forget {
			fn.queue, fn.pubs = pending.Queue{}, pending.Queue{}
			fn.cache = map[string]cachedModel{}
		}
		if retry {
			before := st.Snapshot()
			if err := f(st, func(Prediction) {}); err != nil {
				t.Fatal(err)
			}
			st.Restore(before)
		}
		if err := f(st, emit); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	key := ShardKey(m.ID(), "global", 1)
	const minutes = 7
	// Every batch is queued before any timer fires, as on a bounded input.
	for i := range minutes {
		start, end := int64(i)*60000, int64(i+1)*60000
		b := binary.AppendVarint([]byte{msgBatch}, start)
		b = binary.AppendVarint(b, end)
		b = binary.AppendUvarint(b, 2)
		for j := range 2 {
			e := event.Event{EventID: fmt.Sprintf("e%d-%d", i, j), EventTime: start + int64(j), Region: []string{"north", "south"}[j],
				Label: float64(j), HasLabel: true}
			b = e.AppendFramed(b)
		}
		call(func(sp state.Provider, emit func(Prediction)) error {
			return fn.ProcessElement(ctx, beam.EventTime(end-1), sp, statetest.Timers{}, key, b, emit)
		})
	}
	version := int64(0)
	for i := range minutes {
		if start := int64(i) * 60000; i > 0 && i%2 == 0 {
			for range 3 { // the model the merger publishes at boundary start
				e := event.Event{Region: "north"}
				l.PredictLearn(fz.Vector(&e), 1)
			}
			snap, err := l.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			version++
			msg := binary.AppendVarint([]byte{msgModel}, start)
			msg = append(binary.AppendVarint(msg, version), snap...)
			call(func(sp state.Provider, emit func(Prediction)) error {
				return fn.ProcessElement(ctx, beam.EventTime(start+1), sp, statetest.Timers{}, key, msg, emit)
			})
		}
		end := int64(i+1) * 60000
		call(func(sp state.Provider, emit func(Prediction)) error {
			return fn.OnTimer(ctx, mtime.Time(end-1), sp, statetest.Timers{}, key, timers.Context{}, emit)
		})
	}
	slices.Sort(got)
	return got
}

// The scorer's worker copies (pending batches, published models, decoded
// learners) are a cache: dropping them before every call, or running
// every call once on state that is then rolled back, scores exactly as
// keeping them does, and each batch with the model of the latest boundary
// at or before its start.
func TestScorerCachesAreOnlyACache(t *testing.T) {
	want := runScorer(t, false, false)
	if len(want) != 14 {
		t.Fatalf("%d predictions, want 14", len(want))
	}
	for _, p := range want {
		var i, j, v int
		if _, err := fmt.Sscanf(p, "e%d-%d v%d", &i, &j, &v); err != nil {
			t.Fatal(err)
		}
		if v != i/2 {
			t.Errorf("%s: batch of minute %d scored with version %d, want %d", p, i, v, i/2)
		}
	}
	for _, tc := range []struct{ forget, retry bool }{{true, false}, {false, true}, {true, true}} {
		if got := runScorer(t, tc.forget, tc.retry); !slices.Equal(got, want) {
			t.Errorf("forget=%v retry=%v:\n got %v\nwant %v", tc.forget, tc.retry, got, want)
		}
	}
}
