package rls_test

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/rls"
)

// With forgetting, RLS follows a slope that changes from 2 to −1.
func Example() {
	f, _ := rls.New(rls.Config{Dim: 1, Lambda: 0.9, Delta: 1e-3})
	for t := 0; t < 200; t++ {
		slope := 2.0
		if t >= 100 {
			slope = -1
		}
		x := float64(t%7) - 3
		f.PredictLearn(models.Dense([]float64{x}), slope*x)
	}
	fmt.Printf("slope %.3f\n", f.Weights()[0])
	// Output: slope -1.000
}
