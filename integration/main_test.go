package integration

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/pulse-analytics/pulse/pipelines/job"
)

// TestMain runs in-process pipelines on prism, unsplit (job.UnsplitOnPrism).
func TestMain(m *testing.M) {
	job.UnsplitOnPrism("prism")
	ptest.MainWithDefault(m, "prism")
}
