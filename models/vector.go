package models

import "fmt"

// MaxDim is the largest number of weights any learner accepts (2^30, the
// largest table feature hashing addresses).
const MaxDim = 1 << 30

// Vector is a feature vector. It is dense when Index is nil (Value[i] is
// feature i) and sparse otherwise (Value[k] is feature Index[k]; indices
// need not be sorted and may repeat, as after hash collisions: repeated
// indices are separate features that share a weight, as in Vowpal Wabbit).
//
// A Vector does not own its slices: callers keep one per goroutine and
// refill it with Reset and Append (or feature.Builder), so the hot path does
// not allocate. Learners read a Vector only during the call.
type Vector struct {
	Index []uint32
	Value []float64
}

// Dense returns a dense vector over v.
func Dense(v []float64) Vector { return Vector{Value: v} }

// Sparse returns a sparse vector; index and value must be equally long.
func Sparse(index []uint32, value []float64) Vector {
	if index == nil {
		index = []uint32{}
	}
	return Vector{Index: index, Value: value}
}

// IsDense reports whether x is dense.
func (x Vector) IsDense() bool { return x.Index == nil }

// Len returns the number of stored entries.
func (x Vector) Len() int { return len(x.Value) }

// Reset empties x, keeping its capacity, and makes it sparse.
func (x *Vector) Reset() {
	if x.Index == nil {
		x.Index = make([]uint32, 0, 32)
	}
	x.Index = x.Index[:0]
	x.Value = x.Value[:0]
}

// Append adds feature i with value v to a sparse vector.
func (x *Vector) Append(i uint32, v float64) {
	x.Index = append(x.Index, i)
	x.Value = append(x.Value, v)
}

// Dot returns the inner product of x with the weights w. Every index of x
// must be below len(w).
func (x Vector) Dot(w []float64) float64 {
	if x.Index == nil {
		return dotDense(w[:len(x.Value)], x.Value)
	}
	var s float64
	idx := x.Index[:len(x.Value)]
	for k, v := range x.Value {
		s += w[idx[k]] * v
	}
	return s
}

// dotDense sums w·v with four accumulators (summed as (s0+s1)+(s2+s3),
// then the tail in order), which breaks the dependency chain of the
// additions. The order is fixed, so results are reproducible.
func dotDense(w, v []float64) float64 {
	var s0, s1, s2, s3 float64
	n := len(v) &^ 3
	w = w[:len(v)]
	for i := 0; i < n; i += 4 {
		s0 += w[i] * v[i]
		s1 += w[i+1] * v[i+1]
		s2 += w[i+2] * v[i+2]
		s3 += w[i+3] * v[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for i := n; i < len(v); i++ {
		s += w[i] * v[i]
	}
	return s
}

// Check returns an error if x cannot be given to a learner with dim
// weights: lengths differ, or an index (or a dense length) exceeds dim.
// Learners do not check on the hot path; they panic like an out-of-range
// slice index instead.
func (x Vector) Check(dim int) error {
	if x.Index == nil {
		if len(x.Value) > dim {
			return fmt.Errorf("models: dense vector of %d features for %d weights", len(x.Value), dim)
		}
		return nil
	}
	if len(x.Index) != len(x.Value) {
		return fmt.Errorf("models: sparse vector with %d indices and %d values", len(x.Index), len(x.Value))
	}
	for _, i := range x.Index {
		if int(i) >= dim {
			return fmt.Errorf("models: feature index %d out of range [0, %d)", i, dim)
		}
	}
	return nil
}
