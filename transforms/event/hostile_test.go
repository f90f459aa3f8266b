package event_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// TestHostilePayloadsAllocateLittle decodes hostile payloads, each 1 MiB
// or just under the 64 KiB limit, with one reused Decoder, and requires
// that each is rejected and that a decode allocates a bounded amount: a
// payload over the limit costs only its error (no byte of it is copied);
// one under it at most twice the limit (a copy of a string or number being
// parsed, and its error), whatever its nesting depth or number of digits.
func TestHostilePayloadsAllocateLittle(t *testing.T) {
	const head = `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":0,`
	under := event.MaxPayload - 1024
	bound := uint64(2*event.MaxPayload + 4096)
	for _, tc := range []struct {
		name     string
		payload  string
		maxBytes uint64 // per decode
	}{
		{"1 MiB nesting", head + `"x":` + strings.Repeat("[", 1<<20), 512},
		{"1 MiB string", head + `"text":"` + strings.Repeat("a", 1<<20) + `"}`, 512},
		{"1 MiB invalid UTF-8", strings.Repeat("\xff", 1<<20), 512},
		{"1 MiB digits", head + `"amount":` + strings.Repeat("9", 1<<20) + `}`, 512},
		{"nesting under the limit", head + `"x":` + strings.Repeat("[", under), bound},
		{"digits under the limit", head + `"amount":` + strings.Repeat("9", under) + `}`, bound},
		{"invalid UTF-8 under the limit", head + `"text":"` + strings.Repeat("\xc0\xaf", under/2) + `"}`, bound},
		{"escapes under the limit", head + `"text":"` + strings.Repeat(`\u00e9`, under/6) + `"`, bound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.payload)
			var d event.Decoder
			var e event.Event
			if err := d.Decode(data, &e); err == nil {
				t.Fatalf("hostile payload accepted")
			}
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				_ = d.Decode(data, &e)
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > tc.maxBytes {
				t.Errorf("a decode of %d bytes allocated %d bytes, want at most %d", len(data), per, tc.maxBytes)
			}
			if allocs := testing.AllocsPerRun(runs, func() { _ = d.Decode(data, &e) }); allocs > 16 {
				t.Errorf("a decode allocated %v times, want at most 16", allocs)
			}
		})
	}
}
