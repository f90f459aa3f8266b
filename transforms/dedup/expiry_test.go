package dedup

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
)

func TestExpiry(t *testing.T) {
	end := mtime.EndOfGlobalWindowTime
	for _, tc := range []struct {
		ts      mtime.Time
		horizon int64
		want    mtime.Time
	}{
		{1000, 3_600_000, 3_601_000},
		{-5000, 1000, -4000},
		// Timers cannot be set past the end of the global window.
		{end - 10, 10, end},
		{end - 9, 10, end},
		{end, 3_600_000, end},
		{mtime.MaxTimestamp, 3_600_000, end},
	} {
		if got := expiry(tc.ts, tc.horizon); got != tc.want {
			t.Errorf("expiry(%d, %d) = %d, want %d", tc.ts, tc.horizon, got, tc.want)
		}
	}
}
