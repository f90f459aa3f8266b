package scale

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
)

func twoPass(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs))
}

func TestWelfordMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = 1e6 + r.NormFloat64()*3 // large offset: naive Σx² would lose digits
	}
	wantMean, wantVar := twoPass(xs)
	for _, cut := range []int{0, 1, 333, 999, 1000} {
		var a, b Welford
		for _, x := range xs[:cut] {
			a.Add(x)
		}
		for _, x := range xs[cut:] {
			b.Add(x)
		}
		a.Merge(b)
		if a.N != 1000 || math.Abs(a.Mean-wantMean) > 1e-9*wantMean || math.Abs(a.Variance()-wantVar) > 1e-9*wantVar {
			t.Errorf("cut %d: n %d mean %v var %v, want %v %v", cut, a.N, a.Mean, a.Variance(), wantMean, wantVar)
		}
	}
}

func TestStandard(t *testing.T) {
	s, err := NewStandard(3)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]float64{{1, 10, 5}, {3, 10, 7}, {5, 10, 9}}
	for _, r := range rows {
		s.Learn(models.Dense(r))
	}
	var dst models.Vector
	s.Transform(&dst, models.Dense([]float64{5, 12, 5}))
	want := []float64{math.Sqrt(1.5), 2, -math.Sqrt(1.5)} // means 3,10,7; stds √(8/3),0,√(8/3)
	for i := range want {
		if math.Abs(dst.Value[i]-want[i]) > 1e-12 {
			t.Errorf("feature %d: %v, want %v", i, dst.Value[i], want[i])
		}
	}
	// Sparse input updates only its features.
	s.Learn(models.Sparse([]uint32{2}, []float64{7}))
	if st := s.Stats(2); st.N != 4 || s.Stats(0).N != 3 {
		t.Errorf("counts %d, %d", st.N, s.Stats(0).N)
	}
	b, _ := s.MarshalBinary()
	var r Standard
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if r.Stats(i) != s.Stats(i) {
			t.Errorf("feature %d: restored %+v, want %+v", i, r.Stats(i), s.Stats(i))
		}
	}
	if err := r.Merge(s); err != nil || r.Stats(2).N != 8 {
		t.Errorf("merge: %v, n %d", err, r.Stats(2).N)
	}
}
