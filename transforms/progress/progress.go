// Package progress holds process-wide live counters for progress lines:
// events read and dead-lettered, rows written and the latest watermark.
//
// Beam's own metrics reach the launcher only when the job ends (prism) or
// through a runner's monitoring API, so a long local run shows nothing while
// it works. These counters are plain atomics that DoFns add to once per
// bundle; the launcher reads them with Snapshot. They count only what runs
// in this process: with prism in process or a LOOPBACK environment they move,
// on remote workers (Dataflow, a Flink cluster) they stay zero.
package progress

import (
	"sync/atomic"
	"time"
)

var (
	read, dead, written atomic.Int64
	// watermark is the latest observed watermark in Unix nanoseconds; 0
	// means none was observed.
	watermark atomic.Int64
)

// Stats is a snapshot of the counters.
type Stats struct {
	// Read counts payloads read (parsed or dead-lettered).
	Read int64
	// Dead counts payloads sent to the dead letter.
	Dead int64
	// Written counts rows written by the sinks.
	Written int64
	// Watermark is the latest watermark observed; zero if none was.
	Watermark time.Time
}

// AddRead adds n to the payloads read. Call it once per bundle, not per
// element: the counters are shared by every worker goroutine.
func AddRead(n int64) { read.Add(n) }

// AddDead adds n to the payloads dead-lettered, once per bundle.
func AddDead(n int64) { dead.Add(n) }

// AddWritten adds n to the rows written, once per bundle or file.
func AddWritten(n int64) { written.Add(n) }

// ObserveWatermark records t if it is later than the latest watermark
// observed: workers report out of order, and a watermark never goes back.
func ObserveWatermark(t time.Time) {
	if t.IsZero() {
		return
	}
	n := t.UnixNano()
	for {
		old := watermark.Load()
		if n <= old || watermark.CompareAndSwap(old, n) {
			return
		}
	}
}

// Snapshot returns the counters' current values. The fields are read one at
// a time, so a snapshot taken during a bundle's flush may be a bundle apart
// between fields; progress lines do not need more.
func Snapshot() Stats {
	s := Stats{Read: read.Load(), Dead: dead.Load(), Written: written.Load()}
	if w := watermark.Load(); w != 0 {
		s.Watermark = time.Unix(0, w).UTC()
	}
	return s
}
