package drift

import (
	"encoding"
	"math/rand/v2"
	"testing"
)

type detector interface {
	Update(x float64) bool
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// shift is a loss-like stream whose mean jumps from 0.3 to 0.8 at 2000.
func shift(seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 9))
	xs := make([]float64, 3000)
	for i := range xs {
		m := 0.3
		if i >= 2000 {
			m = 0.8
		}
		xs[i] = m + 0.1*r.NormFloat64()
	}
	return xs
}

func TestDetectsShift(t *testing.T) {
	for _, tt := range []struct {
		name     string
		new      func() detector
		maxDelay int
	}{
		{"PageHinkley", func() detector { d, _ := NewPageHinkley(DefaultPageHinkley); return d }, 150},
		{"PageHinkleyTight", func() detector {
			d, _ := NewPageHinkley(PageHinkleyConfig{MinInstances: 30, Delta: 0.05, Threshold: 5, Alpha: 1})
			return d
		}, 30},
		{"ADWIN", func() detector { d, _ := NewADWIN(DefaultADWIN); return d }, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(0); seed < 5; seed++ {
				d := tt.new()
				first := -1
				for i, x := range shift(seed) {
					if d.Update(x) {
						if i < 2000 {
							t.Errorf("seed %d: false alarm at %d", seed, i)
						} else if first < 0 {
							first = i
						}
					}
				}
				if first < 0 || first-2000 > tt.maxDelay {
					t.Errorf("seed %d: first detection at %d, want within %d of 2000", seed, first, tt.maxDelay)
				}
			}
		})
	}
}

func TestADWINWindow(t *testing.T) {
	a, _ := NewADWIN(DefaultADWIN)
	for _, x := range shift(1) {
		a.Update(x)
	}
	// After the cut the window should hold (mostly) the new regime only.
	if a.Width() > 1100 || a.Mean() < 0.75 {
		t.Errorf("window width %d mean %v after the shift", a.Width(), a.Mean())
	}
	var levels int
	for i := range a.levels {
		if a.levels[i].n > adwinMaxBuckets {
			t.Errorf("level %d has %d buckets", i, a.levels[i].n)
		}
		if a.levels[i].n > 0 {
			levels = i + 1
		}
	}
	if levels != a.used {
		t.Errorf("used %d, levels %d", a.used, levels)
	}
}

func TestResumeIdentical(t *testing.T) {
	for name, mk := range map[string]func() (detector, detector){
		"PageHinkley": func() (detector, detector) {
			a, _ := NewPageHinkley(DefaultPageHinkley)
			return a, new(PageHinkley)
		},
		"ADWIN": func() (detector, detector) {
			a, _ := NewADWIN(DefaultADWIN)
			return a, new(ADWIN)
		},
	} {
		straight, _ := mk()
		half, restored := mk()
		xs := shift(3)
		for i, x := range xs {
			if i < 1500 {
				half.Update(x)
				if i == 1499 {
					b, _ := half.MarshalBinary()
					if err := restored.UnmarshalBinary(b); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
			} else if got, want := restored.Update(x), straight.Update(x); got != want {
				t.Fatalf("%s: value %d: restored %v, uninterrupted %v", name, i, got, want)
			}
			if i < 1500 {
				straight.Update(x)
			}
		}
		a, _ := straight.MarshalBinary()
		b, _ := restored.MarshalBinary()
		if string(a) != string(b) {
			t.Errorf("%s: final snapshots differ", name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := NewADWIN(ADWINConfig{Delta: 0, Clock: 32}); err == nil {
		t.Error("ADWIN δ=0 accepted")
	}
	if _, err := NewPageHinkley(PageHinkleyConfig{Threshold: 0, Alpha: 1}); err == nil {
		t.Error("Page-Hinkley threshold 0 accepted")
	}
}
