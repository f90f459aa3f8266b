package mathx

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	for i := 0; i < 1_000_000; i++ {
		x := (r.Float64() - 0.5) * 1400
		if i%2 == 0 {
			x = (r.Float64() - 0.5) * 40 // the range margins live in
		}
		got, want := Exp(x), math.Exp(x)
		if e := math.Abs(got-want) / want; e > worst {
			worst = e
		}
	}
	if worst > 2*0x1p-52 {
		t.Errorf("worst relative error %g > 2 ulp", worst)
	}
	for _, x := range []float64{0, 1, -1, math.Ln2, 709.5, -745.2, -800, 800, math.Inf(1), math.Inf(-1)} {
		if got, want := Exp(x), math.Exp(x); math.Abs(got-want) > 2*0x1p-52*want {
			t.Errorf("Exp(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(Exp(math.NaN())) || Exp(0) != 1 {
		t.Error("Exp(NaN) or Exp(0) wrong")
	}
	if Sigmoid(0) != 0.5 || Sigmoid(-1000) != 0 || Sigmoid(1000) != 1 {
		t.Error("Sigmoid limits wrong")
	}
}

var sink float64

func BenchmarkExp(b *testing.B) {
	x := 0.1
	for i := 0; i < b.N; i++ {
		x = Exp(-x * 0.5)
	}
	sink = x
}

func BenchmarkMathExp(b *testing.B) {
	x := 0.1
	for i := 0; i < b.N; i++ {
		x = math.Exp(-x * 0.5)
	}
	sink = x
}
