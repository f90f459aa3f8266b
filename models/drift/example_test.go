package drift_test

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models/drift"
)

// Feed a detector the per-example progressive loss; here the loss jumps
// from 0.2 to 0.7 at example 1000.
func ExampleADWIN() {
	d, _ := drift.NewADWIN(drift.DefaultADWIN)
	for i := 0; i < 2000; i++ {
		loss := 0.2 + 0.05*float64(i%3)
		if i >= 1000 {
			loss += 0.5
		}
		if d.Update(loss) {
			fmt.Printf("drift detected at %d\n", i/100*100)
			break
		}
	}
	// Output: drift detected at 1000
}
