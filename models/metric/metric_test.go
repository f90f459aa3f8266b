package metric

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
)

func TestLossValues(t *testing.T) {
	tests := []struct{ y, p, want float64 }{
		{1, 0.5, math.Ln2},
		{0, 0.5, math.Ln2},
		{1, 0.9, -math.Log(0.9)},
		{0, 0.9, -math.Log(0.1)},
		{1, 0, -math.Log(1e-15)}, // clamped, not +Inf
	}
	for _, tt := range tests {
		if got := Loss(tt.y, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Loss(%v, %v) = %v, want %v", tt.y, tt.p, got, tt.want)
		}
	}
}

// bruteAUC counts concordant pairs (ties ½) over all positive/negative pairs.
func bruteAUC(s []float64, y []bool) float64 {
	var num, den float64
	for i := range s {
		for j := range s {
			if y[i] && !y[j] {
				den++
				switch {
				case s[i] > s[j]:
					num++
				case s[i] == s[j]:
					num += 0.5
				}
			}
		}
	}
	return num / den
}

func TestAUCWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	a := NewAUC(100)
	var ss []float64
	var ys []bool
	for i := 0; i < 357; i++ {
		y := r.IntN(2) == 1
		s := math.Round(r.Float64()*20) / 20 // ties
		if y {
			s = math.Min(1, s+0.2)
		}
		yf := 0.0
		if y {
			yf = 1
		}
		a.Update(yf, s)
		ss, ys = append(ss, s), append(ys, y)
		if i%50 == 7 || i == 356 {
			lo := max(0, len(ss)-100)
			if got, want := a.Value(), bruteAUC(ss[lo:], ys[lo:]); math.Abs(got-want) > 1e-12 {
				t.Fatalf("after %d: AUC %v, brute force %v", i+1, got, want)
			}
		}
	}
	if a.Len() != 100 {
		t.Errorf("window holds %d", a.Len())
	}
	if v := NewAUC(5).Value(); v != 0.5 {
		t.Errorf("empty AUC %v", v)
	}
	if n := testing.AllocsPerRun(100, func() { a.Update(1, 0.3) }); n != 0 {
		t.Errorf("AUC.Update allocates %v", n)
	}
}

func TestMergeEqualsWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, task := range []Task{Classification, Regression} {
		mk := func() *Set {
			if task == Classification {
				return NewClassification(10)
			}
			return NewRegression()
		}
		whole, a, b := mk(), mk(), mk()
		for i := 0; i < 500; i++ {
			y, p := float64(r.IntN(2)), r.Float64()
			if task == Regression {
				y, p = r.NormFloat64()*3+10, r.NormFloat64()+10
			}
			whole.Update(y, p)
			if i < 123 {
				a.Update(y, p)
			} else {
				b.Update(y, p)
			}
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		wv, mv := whole.Values(), a.Values()
		for i := range wv {
			if !wv[i].Mergeable {
				continue
			}
			if math.Abs(wv[i].Value-mv[i].Value) > 1e-12*math.Max(1, math.Abs(wv[i].Value)) {
				t.Errorf("%s: merged %v, whole %v", wv[i].Name, mv[i].Value, wv[i].Value)
			}
		}
		if task == Regression {
			if r2 := whole.R2.Value(); !(r2 > -0.5 && r2 < 1) {
				t.Errorf("R² of a poor predictor = %v", r2)
			}
		}
	}
	if err := NewRegression().Merge(NewClassification(0)); err == nil {
		t.Error("merging sets of different tasks succeeded")
	}
}

func TestSetRoundTrip(t *testing.T) {
	s := NewClassification(4)
	for i := 0; i < 6; i++ {
		s.Update(float64(i%2), float64(i)/6)
	}
	b, _ := s.MarshalBinary()
	var r Set
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if r.AUC.Value() != s.AUC.Value() || r.LogLoss != s.LogLoss || r.Accuracy != s.Accuracy {
		t.Errorf("round trip: %+v vs %+v", r.Values(), s.Values())
	}
	b[len(b)-5] ^= 1
	if err := r.UnmarshalBinary(b); err == nil {
		t.Error("corrupted snapshot accepted")
	}
}

// FuzzUnmarshal: decoding arbitrary bytes returns an error or a usable
// Set, never panics.
func FuzzUnmarshal(f *testing.F) {
	fuzzutil.Limit()
	s := NewClassification(3)
	s.Update(1, 0.7)
	b, _ := s.MarshalBinary()
	f.Add(b)
	b, _ = NewRegression().MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzutil.Check(t, data, func() *Set { return new(Set) }, func(s *Set) {
			s.Update(1, 0.5)
			s.Values()
		})
	})
}
