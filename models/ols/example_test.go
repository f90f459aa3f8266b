package ols_test

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/ols"
)

// Two shards accumulate statistics of y = 1 + 2x; merged, they solve to
// the exact fit of all the data.
func Example() {
	a, _ := ols.New(ols.Config{Dim: 2})
	b, _ := ols.New(ols.Config{Dim: 2})
	for x := 0.0; x < 10; x++ {
		shard := a
		if int(x)%2 == 1 {
			shard = b
		}
		shard.Learn(models.Dense([]float64{1, x}), 1+2*x) // 1: intercept feature
	}
	if err := a.Merge(b); err != nil {
		fmt.Println(err)
	}
	w, _ := a.Solve()
	fmt.Printf("intercept %.3f slope %.3f from %d examples\n", w[0], w[1], a.Examples())
	// Output: intercept 1.000 slope 2.000 from 10 examples
}
