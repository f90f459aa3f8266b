package pubsub

import (
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
)

// watermarkEstimator holds a reader's watermark, in milliseconds since the
// epoch; it only moves forward.
type watermarkEstimator struct {
	ms int64
}

// CurrentWatermark is the Beam watermark estimator method.
func (e *watermarkEstimator) CurrentWatermark() time.Time {
	return mtime.Time(e.ms).ToTime()
}

func (e *watermarkEstimator) advance(ms int64) {
	if ms > e.ms {
		e.ms = ms
	}
}
