package mat

import (
	"errors"
	"math"
	"testing"
)

func TestCholeskySolveInverse(t *testing.T) {
	// a = [[4 2 0.4] [2 5 1] [0.4 1 3]], b chosen so that x = (1, -2, 3).
	a := []float64{4, 2, 0.4, 2, 5, 1, 0.4, 1, 3}
	x := []float64{1, -2, 3}
	b := make([]float64, 3)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			b[i] += a[i*3+j] * x[j]
		}
	}
	l := append([]float64(nil), a...)
	if err := Cholesky(l, 3); err != nil {
		t.Fatal(err)
	}
	SolveCholesky(l, 3, b)
	for i := range x {
		if math.Abs(b[i]-x[i]) > 1e-14 {
			t.Errorf("solution %v, want %v", b, x)
		}
	}
	inv := append([]float64(nil), a...)
	if err := InverseSPD(inv, 3, make([]float64, 3)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += a[i*3+k] * inv[k*3+j]
			}
			if want := float64(btoi(i == j)); math.Abs(s-want) > 1e-14 {
				t.Errorf("(a·a⁻¹)[%d][%d] = %v", i, j, s)
			}
		}
	}
	if err := Cholesky([]float64{1, 2, 2, 1}, 2); !errors.Is(err, ErrNotPositiveDefinite) {
		t.Errorf("indefinite matrix: %v", err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
