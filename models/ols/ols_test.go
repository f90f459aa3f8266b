package ols

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
)

func problem(n, d int, seed uint64) ([][]float64, []float64) {
	r := rand.New(rand.NewPCG(seed, 3))
	truth := make([]float64, d)
	for i := range truth {
		truth[i] = r.NormFloat64()
	}
	xs := make([][]float64, n)
	ys := make([]float64, n)
	for k := range xs {
		xs[k] = make([]float64, d)
		xs[k][0] = 1 // intercept
		for i := 1; i < d; i++ {
			xs[k][i] = r.NormFloat64()*float64(i) + 0.3*xs[k][i-1]
		}
		ys[k] = models.Dense(xs[k]).Dot(truth) + r.NormFloat64()
	}
	return xs, ys
}

// qrSolve is least squares by Householder QR of the n×d design matrix,
// independent of the normal equations the package solves.
func qrSolve(xs [][]float64, ys []float64, ridge float64) []float64 {
	d := len(xs[0])
	var a [][]float64
	var b []float64
	for k := range xs {
		a = append(a, append([]float64(nil), xs[k]...))
		b = append(b, ys[k])
	}
	for i := 0; i < d && ridge > 0; i++ { // ridge as d extra rows √ridge·eᵢ
		row := make([]float64, d)
		row[i] = math.Sqrt(ridge)
		a = append(a, row)
		b = append(b, 0)
	}
	m := len(a)
	for c := 0; c < d; c++ {
		var norm float64
		for r := c; r < m; r++ {
			norm += a[r][c] * a[r][c]
		}
		norm = math.Sqrt(norm)
		if a[c][c] > 0 {
			norm = -norm
		}
		v := make([]float64, m)
		v[c] = a[c][c] - norm
		for r := c + 1; r < m; r++ {
			v[r] = a[r][c]
		}
		var vv float64
		for r := c; r < m; r++ {
			vv += v[r] * v[r]
		}
		for j := c; j < d; j++ {
			var s float64
			for r := c; r < m; r++ {
				s += v[r] * a[r][j]
			}
			for r := c; r < m; r++ {
				a[r][j] -= 2 * s / vv * v[r]
			}
		}
		var s float64
		for r := c; r < m; r++ {
			s += v[r] * b[r]
		}
		for r := c; r < m; r++ {
			b[r] -= 2 * s / vv * v[r]
		}
	}
	w := make([]float64, d)
	for i := d - 1; i >= 0; i-- {
		s := b[i]
		for j := i + 1; j < d; j++ {
			s -= a[i][j] * w[j]
		}
		w[i] = s / a[i][i]
	}
	return w
}

func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range got {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

func TestMatchesQR(t *testing.T) {
	tests := []struct {
		name   string
		ridge  float64
		sparse bool
	}{
		{"ols dense", 0, false},
		{"ols sparse input", 0, true},
		{"ridge", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, ys := problem(500, 6, 1)
			r, err := New(Config{Dim: 6, Ridge: tt.ridge})
			if err != nil {
				t.Fatal(err)
			}
			for k, x := range xs {
				v := models.Dense(x)
				if tt.sparse { // same vector as sparse entries, x₂ split over a repeated index
					v = models.Sparse([]uint32{5, 0, 2, 1, 2, 3, 4}, []float64{x[5], x[0], x[2] / 2, x[1], x[2] / 2, x[3], x[4]})
				}
				r.PredictLearn(v, ys[k])
			}
			w, err := r.Solve()
			if err != nil {
				t.Fatal(err)
			}
			e := relErr(w, qrSolve(xs, ys, tt.ridge))
			t.Logf("relative error to QR %.2g", e)
			if e > 1e-9 {
				t.Errorf("relative error to QR %.3g > 1e-9", e)
			}
			if r2 := r.Metrics().R2.Value(); !(r2 > 0.5) {
				t.Errorf("progressive R² %v", r2)
			}
		})
	}
}

func TestMergeHalves(t *testing.T) {
	xs, ys := problem(400, 5, 2)
	whole, _ := New(Config{Dim: 5})
	a, _ := New(Config{Dim: 5})
	b, _ := New(Config{Dim: 5})
	for k, x := range xs {
		whole.Learn(models.Dense(x), ys[k])
		if k%3 == 0 {
			a.Learn(models.Dense(x), ys[k])
		} else {
			b.Learn(models.Dense(x), ys[k])
		}
	}
	if err := b.Merge(a); err != nil {
		t.Fatal(err)
	}
	ww, _ := whole.Solve()
	wm, err := b.Solve()
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(wm, ww); e > 1e-9 || b.Examples() != 400 {
		t.Errorf("merged fit off by %.3g, examples %d", e, b.Examples())
	}
	c, _ := New(Config{Dim: 5, Ridge: 1})
	if err := a.Merge(c); !errors.Is(err, models.ErrIncompatible) {
		t.Errorf("merge of different ridge: %v", err)
	}
}

func TestUnderdetermined(t *testing.T) {
	r, _ := New(Config{Dim: 3})
	r.Learn(models.Dense([]float64{1, 2, 3}), 1)
	if _, err := r.Solve(); err == nil {
		t.Error("solving 1 example in 3 dimensions succeeded")
	}
	if p := r.Predict(models.Dense([]float64{1, 1, 1})); p != 0 {
		t.Errorf("Predict before a solution = %v, want 0", p)
	}
}

func TestResumeBitIdentical(t *testing.T) {
	xs, ys := problem(100, 4, 4)
	a, _ := New(Config{Dim: 4, Ridge: 0.1})
	var b models.Learner
	b, _ = New(Config{Dim: 4, Ridge: 0.1})
	for k, x := range xs {
		if k == 37 {
			snap, _ := b.MarshalBinary()
			var err error
			if b, err = models.Unmarshal(snap); err != nil {
				t.Fatal(err)
			}
		}
		pa, pb := a.PredictLearn(models.Dense(x), ys[k]), b.PredictLearn(models.Dense(x), ys[k])
		if math.Float64bits(pa) != math.Float64bits(pb) {
			t.Fatalf("example %d: %v vs %v", k, pb, pa)
		}
	}
}
