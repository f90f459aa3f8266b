package job

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

func TestUnsplitOnPrism(t *testing.T) {
	saved := *jobopts.Experiments
	t.Cleanup(func() { *jobopts.Experiments = saved })
	for _, tc := range []struct {
		runner, before, want string
	}{
		{"prism", "", NoSplitExperiment},
		{"", "use_runner_v2", "use_runner_v2," + NoSplitExperiment},
		{"prism", NoSplitExperiment, NoSplitExperiment},
		{"flink", "", ""},
		{"dataflow", "use_runner_v2", "use_runner_v2"},
	} {
		*jobopts.Experiments = tc.before
		UnsplitOnPrism(tc.runner)
		if got := *jobopts.Experiments; got != tc.want {
			t.Errorf("UnsplitOnPrism(%q) with --experiments=%q: got %q, want %q", tc.runner, tc.before, got, tc.want)
		}
	}
}
