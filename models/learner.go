package models

import (
	"errors"
	"fmt"

	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/metric"
)

// Learner is an online model: it predicts, learns one example at a time,
// merges with a model of the same kind trained elsewhere, and serialises
// itself completely (hyper-parameters, weights, optimiser state, example
// count and metrics).
//
// Classifiers take labels y in {0, 1} and predict probabilities;
// regressors take and predict real values.
type Learner interface {
	// Predict returns the prediction for x without learning.
	Predict(x Vector) float64
	// Learn updates the model with one example.
	Learn(x Vector, y float64)
	// PredictLearn is progressive validation in one pass: it predicts x,
	// records the prediction in Metrics, learns (x, y) and returns the
	// prediction. The result is bit-identical to Predict then Learn.
	PredictLearn(x Vector, y float64) float64
	// Examples returns how many examples the model has learned.
	Examples() int64
	// Metrics returns the progressive-validation metrics recorded by
	// PredictLearn. They are part of the snapshot and of Merge.
	Metrics() *metric.Set
	// Merge folds other, a learner of the same kind and hyper-parameters,
	// into the receiver. Each kind documents its rule. It returns an error
	// wrapping ErrIncompatible otherwise, leaving the receiver unchanged.
	Merge(other Learner) error
	// MarshalBinary returns a versioned snapshot of the whole learner.
	MarshalBinary() ([]byte, error)
	// UnmarshalBinary restores a snapshot. It returns an error wrapping
	// ErrCorrupt, never panics, on malformed input.
	UnmarshalBinary(data []byte) error
}

// ErrCorrupt is wrapped by errors from decoding a malformed snapshot.
var ErrCorrupt = codec.ErrCorrupt

// ErrIncompatible is wrapped by errors from merging learners of different
// kinds or hyper-parameters.
var ErrIncompatible = errors.New("incompatible learners")

// Unmarshal decodes a snapshot of any learner kind whose package is linked
// into the program (imported, even as _).
func Unmarshal(data []byte) (Learner, error) {
	kind, err := codec.PeekKind(data)
	if err != nil {
		return nil, fmt.Errorf("models: unmarshal: %w", err)
	}
	v, ok := codec.New(kind)
	if !ok {
		return nil, fmt.Errorf("models: unmarshal: %w: kind %d is not linked in", ErrCorrupt, kind)
	}
	l, ok := v.(Learner)
	if !ok {
		return nil, fmt.Errorf("models: unmarshal: %w: kind %d is not a learner", ErrCorrupt, kind)
	}
	if err := l.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return l, nil
}
