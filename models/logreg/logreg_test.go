package logreg

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulse-analytics/pulse/models"
)

var (
	goldenX = [][]float64{{1, 0.5}, {1, -1}, {1, 2}}
	goldenY = []float64{1, 0, 1}
)

func close(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestFTRLGolden(t *testing.T) {
	tests := []struct {
		name  string
		cfg   FTRLConfig
		preds []float64
		z, n  []float64 // final state; nil: not checked
	}{
		{
			name:  "no regularisation",
			cfg:   FTRLConfig{Dim: 2, Alpha: 0.1, Beta: 1},
			preds: []float64{0.5, 0.5033332839514952, 0.5270577262034847},
			z:     []float64{-0.5450007424981723, -2.042709510974979},
			n:     []float64{0.7270187890772146, 1.2105419721086688},
		},
		{
			name:  "L1 0.2 L2 0.1",
			cfg:   FTRLConfig{Dim: 2, Alpha: 0.1, Beta: 1, L1: 0.2, L2: 0.1},
			preds: []float64{0.5, 0.503974740195087, 0.5180002152585015},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFTRL(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range goldenX {
				if p := f.PredictLearn(models.Dense(x), goldenY[i]); !close(p, tt.preds[i], 1e-14) {
					t.Errorf("prediction %d = %.17g, want %.17g", i, p, tt.preds[i])
				}
			}
			for i := range tt.z {
				z, n := f.State(i)
				if !close(z, tt.z[i], 1e-14) || !close(n, tt.n[i], 1e-14) {
					t.Errorf("state %d = (z %.17g, n %.17g), want (%.17g, %.17g)", i, z, n, tt.z[i], tt.n[i])
				}
			}
			if f.Examples() != 3 || f.Metrics().N() != 3 {
				t.Errorf("Examples() = %d, metrics N = %d, want 3", f.Examples(), f.Metrics().N())
			}
		})
	}
}

func TestClassifierGolden(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		preds []float64
	}{
		{"AdaGrad", Config{Dim: 2, Optimizer: AdaGrad, Eta: 0.1, Epsilon: 1e-8}, []float64{0.5, 0.5000000004999999, 0.6006501369841741}},
		// SGD by hand: w1 = (0.05, 0.025), p2 = σ(0.025); w2 = w1 − 0.1(p2)(1, −1); p3 = σ(w2·(1, 2)).
		{"SGD", Config{Dim: 2, Eta: 0.1}, []float64{0.5, sig(0.025), sig(0.05 - 0.1*sig(0.025) + 2*(0.025+0.1*sig(0.025)))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range goldenX {
				if p := c.PredictLearn(models.Dense(x), goldenY[i]); !close(p, tt.preds[i], 1e-14) {
					t.Errorf("prediction %d = %.17g, want %.17g", i, p, tt.preds[i])
				}
			}
		})
	}
}

func sig(m float64) float64 { return 1 / (1 + math.Exp(-m)) }

// stream returns a reproducible logistic stream; sparse examples use
// hashed-style indices in [0, dim).
func stream(n, dim int, sparse bool, seed uint64) ([]models.Vector, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	xs := make([]models.Vector, n)
	ys := make([]float64, n)
	for k := range xs {
		var m float64
		if sparse {
			idx := make([]uint32, 8)
			val := make([]float64, 8)
			for j := range idx {
				idx[j] = uint32(r.IntN(dim))
				val[j] = r.NormFloat64()
				m += val[j] * float64(int(idx[j])%5-2) / 4
			}
			xs[k] = models.Sparse(idx, val)
		} else {
			v := make([]float64, dim)
			for j := range v {
				v[j] = r.NormFloat64() * float64(j+1)
				m += v[j] * float64(j%3-1) / float64(j+1)
			}
			xs[k] = models.Dense(v)
		}
		if r.Float64() < sig(m) {
			ys[k] = 1
		}
	}
	return xs, ys
}

func learners(t *testing.T, dim int) map[string]models.Learner {
	t.Helper()
	out := map[string]models.Learner{}
	f, err := NewFTRL(FTRLConfig{Dim: dim, Alpha: 0.1, Beta: 1, L1: 0.01, L2: 0.1, AUCWindow: 50})
	if err != nil {
		t.Fatal(err)
	}
	out["FTRL"] = f
	for name, cfg := range map[string]Config{
		"SGD":        {Dim: dim, Eta: 0.01, L2: 0.001},
		"SGDInvSqrt": {Dim: dim, Eta: 0.05, Schedule: InvSqrt, AUCWindow: 20},
		"AdaGrad":    {Dim: dim, Optimizer: AdaGrad, Eta: 0.1, Epsilon: 1e-8},
		"Normalized": {Dim: dim, Optimizer: Normalized, Eta: 0.1, L2: 0.001},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// TestResumeBitIdentical stops half-way, snapshots, restores and checks
// every later prediction and the final snapshot against an uninterrupted
// run, bit for bit.
func TestResumeBitIdentical(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		dim := 6
		if sparse {
			dim = 64
		}
		xs, ys := stream(400, dim, sparse, 7)
		straight := learners(t, dim)
		resumed := learners(t, dim)
		for name, a := range straight {
			b := resumed[name]
			for i := range xs {
				if i == len(xs)/2 {
					snap, err := b.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					if b, err = models.Unmarshal(snap); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				pa, pb := a.PredictLearn(xs[i], ys[i]), b.PredictLearn(xs[i], ys[i])
				if math.Float64bits(pa) != math.Float64bits(pb) {
					t.Fatalf("%s sparse=%v: example %d: resumed predicts %v, uninterrupted %v", name, sparse, i, pb, pa)
				}
			}
			sa, _ := a.MarshalBinary()
			sb, _ := b.MarshalBinary()
			if string(sa) != string(sb) {
				t.Errorf("%s sparse=%v: final snapshots differ", name, sparse)
			}
			if a.Examples() != int64(len(xs)) || b.Metrics().LogLoss.Value() != a.Metrics().LogLoss.Value() {
				t.Errorf("%s: examples %d, log loss %v vs %v", name, a.Examples(), a.Metrics().LogLoss.Value(), b.Metrics().LogLoss.Value())
			}
		}
	}
}

// TestPredictLearnMatchesPredict checks that PredictLearn's prediction is
// Predict's, bit for bit, for every optimiser.
func TestPredictLearnMatchesPredict(t *testing.T) {
	xs, ys := stream(200, 5, false, 3)
	for name, l := range learners(t, 5) {
		for i := range xs {
			want := l.Predict(xs[i])
			if got := l.PredictLearn(xs[i], ys[i]); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s: example %d: PredictLearn %v, Predict %v", name, i, got, want)
			}
		}
		if ll := l.Metrics().LogLoss.Value(); !(ll > 0 && ll < math.Ln2) {
			t.Errorf("%s: progressive log loss %v, want in (0, ln 2) on a learnable stream", name, ll)
		}
	}
}

func TestMerge(t *testing.T) {
	xs, ys := stream(300, 4, false, 11)
	for name, a := range learners(t, 4) {
		b := learners(t, 4)[name]
		for i := range xs {
			if i%2 == 0 {
				a.PredictLearn(xs[i], ys[i])
			} else {
				b.PredictLearn(xs[i], ys[i])
			}
		}
		before := a.Metrics().LogLoss.Sum + b.Metrics().LogLoss.Sum
		if err := a.Merge(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Examples() != 300 || a.Metrics().N() != 300 || !close(a.Metrics().LogLoss.Sum, before, 1e-12) {
			t.Errorf("%s: merged examples %d, metric N %d", name, a.Examples(), a.Metrics().N())
		}
		// The merged model must still predict the stream better than chance.
		var ll float64
		for i := range xs {
			ll += -math.Log(math.Abs(1 - ys[i] - a.Predict(xs[i])))
		}
		if ll /= float64(len(xs)); !(ll < math.Ln2) {
			t.Errorf("%s: merged model log loss %v >= ln 2", name, ll)
		}
	}
	f, _ := NewFTRL(FTRLConfig{Dim: 4, Alpha: 0.1, Beta: 1})
	g, _ := NewFTRL(FTRLConfig{Dim: 4, Alpha: 0.2, Beta: 1})
	c, _ := New(Config{Dim: 4, Eta: 0.1})
	for _, o := range []models.Learner{g, c} {
		if err := f.Merge(o); !errors.Is(err, models.ErrIncompatible) {
			t.Errorf("merge %T: err = %v, want ErrIncompatible", o, err)
		}
	}
}

// TestFTRLMergeWeights checks the merge rule on one coordinate: the weight
// is the n-weighted mean and n adds up.
func TestFTRLMergeWeights(t *testing.T) {
	cfg := FTRLConfig{Dim: 2, Alpha: 0.1, Beta: 1, L1: 0.05, L2: 0.1}
	a, _ := NewFTRL(cfg)
	b, _ := NewFTRL(cfg)
	for i, x := range goldenX {
		a.Learn(models.Dense(x), goldenY[i])
		b.Learn(models.Dense(x), 1-goldenY[i])
	}
	wa, wb := a.Weight(1), b.Weight(1)
	_, na := a.State(1)
	_, nb := b.State(1)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	_, n := a.State(1)
	if want := (na*wa + nb*wb) / (na + nb); !close(a.Weight(1), want, 1e-12) || n != na+nb {
		t.Errorf("merged w = %v, n = %v; want %v, %v", a.Weight(1), n, want, na+nb)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []FTRLConfig{
		{Dim: 0, Alpha: 0.1},
		{Dim: 2, Alpha: 0},
		{Dim: 2, Alpha: 0.1, Beta: -1},
		{Dim: 2, Alpha: math.NaN()},
		{Dim: 2, Alpha: 0.1, L1: math.Inf(1)},
	}
	for _, c := range bad {
		if _, err := NewFTRL(c); err == nil {
			t.Errorf("NewFTRL(%+v) succeeded", c)
		}
	}
	for _, c := range []Config{{Dim: 2}, {Dim: 2, Eta: 0.1, Optimizer: 9}, {Dim: 2, Eta: 0.1, L2: -1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func TestSnapshotCompact(t *testing.T) {
	f, _ := NewFTRL(FTRLConfig{Dim: 1 << 18, Alpha: 0.1, Beta: 1})
	xs, ys := stream(10, 1<<18, true, 5)
	for i := range xs {
		f.Learn(xs[i], ys[i])
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// 80 touched coordinates at most: ~17 bytes each plus a header, far
	// below the 4 MiB a dense (z, n) table takes.
	if len(b) > 2000 {
		t.Errorf("snapshot of 80 touched coordinates is %d bytes", len(b))
	}
}

// TestFTRLRepeatedIndex checks the sparse path against a direct
// transcription of the paper's per-coordinate update, applied to each
// occurrence of a repeated index in turn, bit for bit.
func TestFTRLRepeatedIndex(t *testing.T) {
	cfg := FTRLConfig{Dim: 4, Alpha: 0.1, Beta: 1, L1: 0.05, L2: 0.1}
	f, _ := NewFTRL(cfg)
	z, n := make([]float64, 4), make([]float64, 4)
	w := func(i int) float64 {
		if math.Abs(z[i]) <= cfg.L1 {
			return 0
		}
		return cfg.Alpha * (math.Copysign(cfg.L1, z[i]) - z[i]) / (cfg.Beta + math.Sqrt(n[i]) + cfg.Alpha*cfg.L2)
	}
	examples := []struct {
		idx []uint32
		val []float64
		y   float64
	}{
		{[]uint32{0, 2, 0}, []float64{1, 0.5, 2}, 1},
		{[]uint32{2, 2, 2, 1}, []float64{-1, 0.5, 3, 1}, 0},
		{[]uint32{0, 1, 0, 3}, []float64{1, 1, -1, 2}, 1},
		{[]uint32{3, 3}, []float64{0.7, 0.7}, 0},
	}
	for round := 0; round < 3; round++ {
		for e, ex := range examples {
			var m float64
			for k, i := range ex.idx {
				m += w(int(i)) * ex.val[k]
			}
			want := sig(m)
			for k, i := range ex.idx {
				g := (want - ex.y) * ex.val[k]
				wi, sqOld := w(int(i)), math.Sqrt(n[i])
				n[i] += g * g
				z[i] += g - (math.Sqrt(n[i])-sqOld)/cfg.Alpha*wi
			}
			got := f.PredictLearn(models.Sparse(ex.idx, ex.val), ex.y)
			if math.Abs(got-want) > 1e-15 {
				t.Fatalf("round %d example %d: prediction %v, want %v", round, e, got, want)
			}
			for i := range z {
				if gz, gn := f.State(i); math.Abs(gz-z[i]) > 1e-13 || math.Abs(gn-n[i]) > 1e-13 {
					t.Fatalf("round %d example %d: state %d = (%v, %v), want (%v, %v)", round, e, i, gz, gn, z[i], n[i])
				}
			}
		}
	}
}
