package rls

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
)

// problem returns n examples of a noisy linear model in d dimensions; with
// sparse set, every other example is a sparse vector (two features, one
// repeated index).
func problem(n, d int, sparse bool, seed uint64) ([]models.Vector, []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	truth := make([]float64, d)
	for i := range truth {
		truth[i] = r.NormFloat64() * 3
	}
	xs := make([]models.Vector, n)
	ys := make([]float64, n)
	for k := range xs {
		if sparse && k%2 == 1 {
			i, j := uint32(r.IntN(d)), uint32(r.IntN(d))
			xs[k] = models.Sparse([]uint32{i, j, i}, []float64{r.NormFloat64(), r.NormFloat64(), 0.5})
		} else {
			v := make([]float64, d)
			for i := range v {
				v[i] = r.NormFloat64() * float64(i+1)
			}
			xs[k] = models.Dense(v)
		}
		ys[k] = xs[k].Dot(truth) + r.NormFloat64()*0.1
	}
	return xs, ys
}

// dense expands x to d values, adding repeated indices.
func dense(x models.Vector, d int) []float64 {
	v := make([]float64, d)
	for k, val := range x.Value {
		i := k
		if x.Index != nil {
			i = int(x.Index[k])
		}
		v[i] += val
	}
	return v
}

// closedForm is (λᵗδI + Σλ^(t−i)xxᵀ)⁻¹ Σλ^(t−i)xy, solved by Gauss-Jordan
// elimination with partial pivoting, independently of the package.
func closedForm(xs []models.Vector, ys []float64, d int, lambda, delta float64) []float64 {
	t := len(xs)
	a := make([][]float64, d)
	for i := range a {
		a[i] = make([]float64, d+1)
		a[i][i] = math.Pow(lambda, float64(t)) * delta
	}
	for k, x := range xs {
		wt := math.Pow(lambda, float64(t-1-k))
		v := dense(x, d)
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				a[i][j] += wt * v[i] * v[j]
			}
			a[i][d] += wt * v[i] * ys[k]
		}
	}
	for c := 0; c < d; c++ {
		p := c
		for r := c + 1; r < d; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < d; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for j := c; j <= d; j++ {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	w := make([]float64, d)
	for i := range w {
		w[i] = a[i][d] / a[i][i]
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

func TestClosedForm(t *testing.T) {
	const d = 5
	for _, tt := range []struct {
		name   string
		lambda float64
		sparse bool
	}{
		{"lambda 1", 1, false},
		{"lambda 0.98", 0.98, false},
		{"lambda 0.98 sparse", 0.98, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			xs, ys := problem(200, d, tt.sparse, 1)
			f, err := New(Config{Dim: d, Lambda: tt.lambda, Delta: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			for k := range xs {
				f.PredictLearn(xs[k], ys[k])
				if n := k + 1; n == 1 || n == 3 || n == 50 || n == 200 {
					want := closedForm(xs[:n], ys[:n], d, tt.lambda, 0.5)
					e := relErr(f.Weights(), want)
					t.Logf("after %d: relative error %.2g", n, e)
					if e > 1e-9 {
						t.Errorf("after %d examples: relative error %.3g > 1e-9\n got %v\nwant %v", n, e, f.Weights(), want)
					}
				}
			}
			if r2 := f.Metrics().R2.Value(); !(r2 > 0.9) {
				t.Errorf("progressive R² = %v, want > 0.9", r2)
			}
		})
	}
}

func TestMergeEqualsSequential(t *testing.T) {
	const d = 4
	for _, lambda := range []float64{1, 0.98} {
		xs, ys := problem(120, d, true, 3)
		cfg := Config{Dim: d, Lambda: lambda, Delta: 2}
		a, _ := New(cfg)
		b, _ := New(cfg)
		for k := range xs {
			if k < 70 {
				a.PredictLearn(xs[k], ys[k])
			} else {
				b.PredictLearn(xs[k], ys[k])
			}
		}
		if err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
		want := closedForm(xs, ys, d, lambda, 2)
		if e := relErr(a.Weights(), want); e > 1e-9 {
			t.Errorf("λ=%v: merged weights off by %.3g relative", lambda, e)
		}
		if a.Examples() != 120 || a.Metrics().N() != 120 {
			t.Errorf("λ=%v: merged examples %d, metrics %d", lambda, a.Examples(), a.Metrics().N())
		}
	}
	a, _ := New(Config{Dim: 2, Lambda: 1, Delta: 1})
	b, _ := New(Config{Dim: 2, Lambda: 0.9, Delta: 1})
	if err := a.Merge(b); !errors.Is(err, models.ErrIncompatible) {
		t.Errorf("merge of different λ: %v", err)
	}
}

func TestResumeBitIdentical(t *testing.T) {
	xs, ys := problem(300, 6, true, 5)
	cfg := Config{Dim: 6, Lambda: 0.99, Delta: 1}
	a, _ := New(cfg)
	var b models.Learner
	b, _ = New(cfg)
	for k := range xs {
		if k == 150 {
			snap, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if b, err = models.Unmarshal(snap); err != nil {
				t.Fatal(err)
			}
		}
		pa, pb := a.PredictLearn(xs[k], ys[k]), b.PredictLearn(xs[k], ys[k])
		if math.Float64bits(pa) != math.Float64bits(pb) {
			t.Fatalf("example %d: resumed %v, uninterrupted %v", k, pb, pa)
		}
	}
	sa, _ := a.MarshalBinary()
	sb, _ := b.MarshalBinary()
	if string(sa) != string(sb) {
		t.Error("final snapshots differ")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Dim: 0, Lambda: 1, Delta: 1}, {Dim: 2, Lambda: 0, Delta: 1},
		{Dim: 2, Lambda: 1.1, Delta: 1}, {Dim: 2, Lambda: 1}, {Dim: MaxDim + 1, Lambda: 1, Delta: 1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}
