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

// Flush adds *n to the counter name and zeroes it. It reports a zero too:
// prism (v2.77) keeps a bundle's report of a counter it has no name for
// yet in a map by short id until it has asked the SDK for the name, so of
// two bundles that both report a counter for the first time before the
// answer, the first one's count is lost (jobservices/metrics.go,
// contributeMetrics). A streaming run lost one de-duplicated event that
// way; reporting from every bundle names each counter at its DoFn's first
// bundle, before there is anything to count.
func Flush(ctx context.Context, name string, n *int64) {
	beam.NewCounter(Namespace, name).Inc(ctx, *n)
	*n = 0
}
