package progress

import (
	"sync"
	"testing"
	"time"
)

// TestConcurrentAddsAndLatestWatermark adds from many goroutines, as
// bundles on several workers do, and checks nothing is lost and the
// watermark keeps the latest time whatever the order of the reports.
func TestConcurrentAddsAndLatestWatermark(t *testing.T) {
	before := Snapshot()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				AddRead(3)
				AddDead(1)
				AddWritten(2)
				// Goroutines report interleaved, older times after newer.
				ObserveWatermark(base.Add(time.Duration((i*7+g*13)%1000) * time.Second))
			}
		}(g)
	}
	wg.Wait()
	ObserveWatermark(time.Time{}) // a zero time is no observation
	got := Snapshot()
	if d := got.Read - before.Read; d != 8*1000*3 {
		t.Errorf("read grew by %d, want %d", d, 8*1000*3)
	}
	if d := got.Dead - before.Dead; d != 8*1000 {
		t.Errorf("dead grew by %d, want %d", d, 8*1000)
	}
	if d := got.Written - before.Written; d != 8*1000*2 {
		t.Errorf("written grew by %d, want %d", d, 8*1000*2)
	}
	if want := base.Add(999 * time.Second); !got.Watermark.Equal(want) {
		t.Errorf("watermark %v, want the latest %v", got.Watermark, want)
	}
	ObserveWatermark(base) // earlier: ignored
	if w := Snapshot().Watermark; !w.Equal(base.Add(999 * time.Second)) {
		t.Errorf("an earlier watermark moved it back to %v", w)
	}
}
