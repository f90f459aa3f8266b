package codec

import (
	"bytes"
	"math"
	"testing"
)

// table returns two columns of n rows with the given rows set to
// non-zero values (-0 and NaN included, which Rows keeps).
func table(n int, set map[int][2]float64) (a, b []float64) {
	a, b = make([]float64, n), make([]float64, n)
	for i, v := range set {
		a[i], b[i] = v[0], v[1]
	}
	return a, b
}

// TestColumnsAndPairsMatchRows checks that the fast encoders write the
// bytes Rows writes (the snapshot format must not change), sparse and
// dense, and that Decoder.Rows reads them back bit for bit.
func TestColumnsAndPairsMatchRows(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name string
		n    int
		set  map[int][2]float64
	}{
		{"empty", 0, nil},
		{"all zero", 100, nil},
		{"sparse", 1000, map[int][2]float64{0: {1, 2}, 7: {0, 3}, 999: {-4, 0}}},
		{"negative zero and NaN kept", 300, map[int][2]float64{5: {negZero, 0}, 200: {0, math.NaN()}}},
		{"dense", 4, map[int][2]float64{0: {1, 1}, 1: {2, 0}, 2: {0, 3}, 3: {4, 4}}},
		{"large gap", 1 << 18, map[int][2]float64{1: {1, 1}, 1<<18 - 1: {2, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := table(tc.n, tc.set)
			enc := func(f func(e *Encoder)) []byte {
				e := NewEncoder(KindFTRL, 0)
				f(e)
				return e.Finish()
			}
			for _, width := range []int{1, 2} {
				rows := enc(func(e *Encoder) {
					e.Rows(tc.n, width, func(i, j int) float64 {
						if j == 0 {
							return a[i]
						}
						return b[i]
					})
				})
				cols := [][]float64{a, b}[:width]
				if got := enc(func(e *Encoder) { e.Columns(cols...) }); !bytes.Equal(got, rows) {
					t.Errorf("width %d: Columns wrote %d bytes that differ from Rows' %d", width, len(got), len(rows))
				}
				d, err := Open(rows, KindFTRL)
				if err != nil {
					t.Fatal(err)
				}
				ga, gb := make([]float64, tc.n), make([]float64, tc.n)
				d.Rows(tc.n, width, func(i, j int, v float64) {
					if j == 0 {
						ga[i] = v
					} else {
						gb[i] = v
					}
				})
				if err := d.Finish(); err != nil {
					t.Fatalf("width %d: decode: %v", width, err)
				}
				for i := range tc.n {
					if math.Float64bits(ga[i]) != math.Float64bits(a[i]) || (width == 2 && math.Float64bits(gb[i]) != math.Float64bits(b[i])) {
						t.Fatalf("width %d: row %d decoded as (%v, %v), want (%v, %v)", width, i, ga[i], gb[i], a[i], b[i])
					}
				}
			}
			rows := enc(func(e *Encoder) {
				e.Rows(tc.n, 2, func(i, j int) float64 { return [][]float64{a, b}[j][i] })
			})
			if got := enc(func(e *Encoder) { e.Pairs(tc.n, func(i int) (float64, float64) { return a[i], b[i] }) }); !bytes.Equal(got, rows) {
				t.Errorf("Pairs wrote %d bytes that differ from Rows' %d", len(got), len(rows))
			}
		})
	}
}

func TestColumnsPanicsOnRaggedColumns(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Columns of 3 and 2 values did not panic")
		}
	}()
	NewEncoder(KindLinReg, 0).Columns(make([]float64, 3), make([]float64, 2))
}

// benchTable is a 2^18-row table with one row in 8 non-zero, about what
// the learn job's hashed models hold after a few thousand events.
func benchTable() (a, b []float64) {
	a, b = make([]float64, 1<<18), make([]float64, 1<<18)
	for i := 0; i < len(a); i += 8 {
		a[i], b[i] = float64(i), 1
	}
	return a, b
}

func BenchmarkRows2e18(b *testing.B) {
	x, y := benchTable()
	b.ReportAllocs()
	for b.Loop() {
		e := NewEncoder(KindFTRL, 0)
		e.Rows(len(x), 2, func(i, j int) float64 {
			if j == 0 {
				return x[i]
			}
			return y[i]
		})
		e.Finish()
	}
}

func BenchmarkColumns2e18(b *testing.B) {
	x, y := benchTable()
	b.ReportAllocs()
	for b.Loop() {
		e := NewEncoder(KindFTRL, 0)
		e.Columns(x, y)
		e.Finish()
	}
}

func BenchmarkPairs2e18(b *testing.B) {
	x, y := benchTable()
	b.ReportAllocs()
	for b.Loop() {
		e := NewEncoder(KindFTRL, 0)
		e.Pairs(len(x), func(i int) (float64, float64) { return x[i], y[i] })
		e.Finish()
	}
}
