// Package mat has the few dense symmetric-matrix routines RLS and OLS need.
// Matrices are row-major n×n []float64.
package mat

import (
	"errors"
	"math"
)

// ErrNotPositiveDefinite is returned when a Cholesky factorisation fails.
var ErrNotPositiveDefinite = errors.New("matrix is not positive definite")

// Cholesky overwrites the lower triangle of a (n×n, symmetric, only the
// lower triangle read) with L such that a = LLᵀ.
func Cholesky(a []float64, n int) error {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j+1]
		d := rj[j]
		for _, v := range rj[:j] {
			d -= v * v
		}
		if !(d > 0) || math.IsInf(d, 0) {
			return ErrNotPositiveDefinite
		}
		d = math.Sqrt(d)
		rj[j] = d
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j+1]
			s := ri[j]
			for k, v := range rj[:j] {
				s -= ri[k] * v
			}
			ri[j] = s / d
		}
	}
	return nil
}

// SolveCholesky solves LLᵀx = b in place of b, with L from Cholesky.
func SolveCholesky(l []float64, n int, b []float64) {
	for i := 0; i < n; i++ { // Ly = b
		s := b[i]
		for k, v := range l[i*n : i*n+i] {
			s -= v * b[k]
		}
		b[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀx = y
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
}

// InverseSPD overwrites the symmetric positive-definite a with its inverse,
// using col (length n) as scratch.
func InverseSPD(a []float64, n int, scratch []float64) error {
	l := make([]float64, n*n)
	copy(l, a)
	if err := Cholesky(l, n); err != nil {
		return err
	}
	for j := 0; j < n; j++ {
		clear(scratch)
		scratch[j] = 1
		SolveCholesky(l, n, scratch)
		for i := 0; i < n; i++ {
			a[i*n+j] = scratch[i]
		}
	}
	// Symmetrise the rounding.
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			m := (a[i*n+j] + a[j*n+i]) / 2
			a[i*n+j], a[j*n+i] = m, m
		}
	}
	return nil
}
