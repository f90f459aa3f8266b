package models_test

import (
	"errors"
	"testing"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/internal/codec"
	"github.com/pulse-analytics/pulse/models/internal/fuzzutil"
	"github.com/pulse-analytics/pulse/models/linreg"
	"github.com/pulse-analytics/pulse/models/logreg"
	"github.com/pulse-analytics/pulse/models/ols"
	"github.com/pulse-analytics/pulse/models/rls"
)

// seedLearners returns one trained learner of each kind that
// models.Unmarshal dispatches to.
func seedLearners(t testing.TB) []models.Learner {
	var ls []models.Learner
	add := func(l models.Learner, err error) {
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	add(linreg.New(linreg.Config{Dim: 4, Eta: 0.1}))
	add(logreg.New(logreg.Config{Dim: 4, Eta: 0.1, AUCWindow: 8}))
	add(logreg.NewFTRL(logreg.FTRLConfig{Dim: 4, Alpha: 0.1, Beta: 1, AUCWindow: 8}))
	add(rls.New(rls.Config{Dim: 3, Lambda: 0.99, Delta: 1}))
	add(ols.New(ols.Config{Dim: 3}))
	x := models.Dense([]float64{1, 0.5, 2})
	for _, l := range ls {
		for i := range 5 {
			l.PredictLearn(x, float64(i%2))
		}
	}
	return ls
}

// FuzzUnmarshal: models.Unmarshal, the kind-dispatching decoder that
// restores any learner's snapshot, returns a learner or an error wrapping
// ErrCorrupt on any bytes, never panics, and what it accepts re-encodes to
// a snapshot it accepts again byte for byte. Each bytes are also tried with
// a recomputed checksum, so that mutations reach the payload parsers. Run
// it longer with
//
//	go test -run '^$' -fuzz '^FuzzUnmarshal$' -fuzztime 10m ./models/
func FuzzUnmarshal(f *testing.F) {
	// The limit is global: restore it for the tests and examples that run
	// after this target in the same binary.
	old := codec.MaxElems
	f.Cleanup(func() { codec.MaxElems = old })
	fuzzutil.Limit()
	for _, l := range seedLearners(f) {
		b, err := l.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	x := models.Dense([]float64{1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, seal := range []bool{false, true} {
			b := data
			if seal {
				b = append([]byte(nil), data...)
				codec.Seal(b)
			}
			l, err := models.Unmarshal(b)
			if err != nil {
				if !errors.Is(err, models.ErrCorrupt) {
					t.Fatalf("Unmarshal error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			out, err := l.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			again, err := models.Unmarshal(out)
			if err != nil {
				t.Fatalf("decode of re-encoded snapshot: %v", err)
			}
			if b2, _ := again.MarshalBinary(); string(b2) != string(out) {
				t.Fatal("snapshot does not round-trip")
			}
			l.Predict(x) // must not panic whatever the decoded dimension
		}
	})
}
