// Package counter adds a DoFn's per-bundle counts to Pulse's Beam
// counters. DoFns count in plain fields and flush once per bundle: a
// counter update per element would cost more than the work it counts.
package counter

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Namespace is the namespace of every Pulse counter.
const Namespace = "pulse"

// Flush adds *n to the counter name and zeroes it; it does nothing when
// *n is zero, so that idle bundles create no counter.
func Flush(ctx context.Context, name string, n *int64) {
	if *n != 0 {
		beam.NewCounter(Namespace, name).Inc(ctx, *n)
		*n = 0
	}
}
