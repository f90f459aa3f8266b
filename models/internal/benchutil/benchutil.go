// Package benchutil runs the learners' update benchmarks the same way
// everywhere and reports, besides ns/op (wall clock), the process CPU time
// per update: on a shared 2-core machine wall time also counts the time
// other processes hold the core, CPU time does not.
package benchutil

import (
	"testing"
)

// Run calls step(i) b.N times and reports updates/s (wall clock),
// cpu-ns/op and updates/cpu-s.
func Run(b *testing.B, step func(i int)) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		step(i)
	}
	cpu := cpuTime() - c0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "updates/cpu-s")
	}
}
