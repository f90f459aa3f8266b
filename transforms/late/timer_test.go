package late

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"

	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/statetest"
)

// The expiry timer has no output timestamp, so the SDK calls OnTimer with
// the end of time; the forget timer must still come Retention after the
// expiry, and clear the key's state when it fires.
func TestExpiredWindowIsForgottenAfterRetention(t *testing.T) {
	const window, lateness = 60_000, 300_000
	fn := &guardFn{WindowMillis: window, LatenessMillis: lateness,
		Expired: state.MakeValueState[bool]("expired"), Timer: timers.InEventTime("expiry")}
	st, tm := statetest.New(), statetest.Timers{}
	ctx := context.Background()
	const start = int64(1_767_225_600_000)
	key := "1767225600000/3" // liftFn's key: window start / shard
	none := func(beam.EventTime, event.Event) {}
	dead := func(deadletter.Row) {}
	if err := fn.OnTimer(ctx, st, tm, key, timers.Context{Family: "expiry"}, none, dead); err != nil {
		t.Fatal(err)
	}
	want := start + window + lateness + Retention.Milliseconds()
	if got := slices.Collect(maps.Keys(tm)); len(got) != 1 || got[0] != want {
		t.Fatalf("forget timer at %v, want %v (%v after expiry)", got, want, time.Duration(Retention))
	}
	if v, ok, _ := fn.Expired.Read(st); !ok || !v {
		t.Fatal("window not marked expired")
	}
	if err := fn.OnTimer(ctx, st, tm, key, timers.Context{Family: "expiry", Tag: forget}, none, dead); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fn.Expired.Read(st); ok {
		t.Error("window still remembered after the forget timer")
	}
	if err := fn.OnTimer(ctx, st, tm, "not-a-key", timers.Context{}, none, dead); err == nil {
		t.Error("a malformed key was accepted")
	}
}
