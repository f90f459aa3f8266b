package integration

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// TestMain runs in-process pipelines on prism.
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }
