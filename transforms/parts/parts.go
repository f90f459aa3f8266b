// Package parts applies a transform to a PCollection that comes split into
// parts, and flattens what it makes of them.
//
// prism runs a stage as one bundle at a time, so a fused stage uses one
// core however many the machine has; stages that do not depend on each
// other run at once. A bounded job therefore splits its events into parts
// after de-duplication (dedup.ReplayParts): each part's grouping and the
// DoFns fused after it form a stage of their own, and transforms that
// pre-aggregate per bundle (rollups, trending, sessions, the learn
// routing) lift each part separately and flatten the lifted batches, few
// elements, rather than the events. Dataflow and Flink parallelise a stage
// themselves; to them the parts are just a few more transforms.
package parts

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Apply applies f to each of ins and returns the flattened results. One
// part is applied in s itself, so that transform names are those of an
// unsplit pipeline (a streaming job's names must not change); part i of
// several in scope "Part<i>".
func Apply(s beam.Scope, ins []beam.PCollection, f func(beam.Scope, beam.PCollection) beam.PCollection) beam.PCollection {
	outs := make([]beam.PCollection, 0, len(ins))
	Each(s, ins, func(s beam.Scope, in beam.PCollection) { outs = append(outs, f(s, in)) })
	if len(outs) == 1 {
		return outs[0]
	}
	return beam.Flatten(s.Scope("Parts"), outs...)
}

// Each applies sink f to each of ins, in the scopes Apply uses. A sink per
// part, fused into the stage that makes the part, writes a large table
// without first flattening its rows (on prism a Flatten is a stage of its
// own that copies every row).
func Each(s beam.Scope, ins []beam.PCollection, f func(beam.Scope, beam.PCollection)) {
	switch len(ins) {
	case 0:
		panic("parts: no input")
	case 1:
		f(s, ins[0])
		return
	}
	for i, in := range ins {
		f(s.Scope(fmt.Sprintf("Part%d", i)), in)
	}
}
