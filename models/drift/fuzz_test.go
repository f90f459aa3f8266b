package drift

import (
	"testing"

	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
)

// FuzzUnmarshal: decoding arbitrary bytes returns an error or a usable
// detector, never panics.
func FuzzUnmarshal(f *testing.F) {
	fuzzutil.Limit()
	a, _ := NewADWIN(DefaultADWIN)
	p, _ := NewPageHinkley(DefaultPageHinkley)
	for _, x := range shift(1)[:100] {
		a.Update(x)
		p.Update(x)
	}
	for _, d := range []detector{a, p} {
		b, _ := d.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzutil.Check(t, data, func() *ADWIN { return new(ADWIN) }, func(a *ADWIN) {
			for i := 0; i < 64; i++ {
				a.Update(float64(i % 3))
			}
		})
		fuzzutil.Check(t, data, func() *PageHinkley { return new(PageHinkley) }, func(p *PageHinkley) { p.Update(1) })
	})
}
