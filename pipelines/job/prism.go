package job

import (
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// NoSplitExperiment is the prism experiment that turns off its dynamic
// splitting of running bundles.
//
// prism (v2.77) splits a slow bundle of a stateful stage even when the
// bundle holds timers ("Unexpected split on a bundle with timers",
// apache/beam#35771); it then reschedules elements the SDK has already
// processed, so state sees them twice: a loaded streaming run let a
// duplicate past de-duplication and wrote a row its counters never saw.
// Pulse's stateful stages must not be split that way, and nothing in Pulse
// needs the splits: the Pub/Sub reader checkpoints itself after every batch.
const NoSplitExperiment = "prism_disable_sdf_split"

// UnsplitOnPrism adds NoSplitExperiment to the SDK's --experiments flag
// when runner is prism (an empty runner is prism too, as in ptest). Call it
// after flags are parsed and before the pipeline runs; other runners'
// experiments are left as they are.
func UnsplitOnPrism(runner string) {
	if runner != "" && runner != "prism" {
		return
	}
	exps := jobopts.GetExperiments()
	if slices.Contains(exps, NoSplitExperiment) {
		return
	}
	*jobopts.Experiments = strings.Join(append(exps, NoSplitExperiment), ",")
}
