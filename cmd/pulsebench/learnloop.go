package main

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/outcome"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// learnStats is what the models loop did.
type learnStats struct {
	Updates  int64            // PredictLearn calls
	PerModel map[string]int64 // of them, per model id
	Train    float64          // seconds spent in featurizing and PredictLearn
}

// learnLoop trains the models ms with the models library directly, one
// thread, no Beam: decode, clean and de-duplicate the lines as the job
// does, sort by (event time, event_id), then per event and model that
// takes it, featurize and PredictLearn on the learner of the event's key,
// as the pipeline's trainer does. The engagement label is a stand-in: 1 if
// the same user engages with the same item anywhere in the input, else 0
// (the pipeline's 30-minute outcome window needs a timer per view; the
// number of updates and their cost do not depend on the label's value).
// Sharded models train as one learner: the pipeline's shards make the same
// number of updates.
func learnLoop(r io.Reader, ms []spec.Model) (learnStats, error) {
	var (
		st      = learnStats{PerModel: map[string]int64{}}
		dec     event.Decoder
		e       event.Event
		seen    = map[string]struct{}{}
		engaged = map[string]bool{}
		evs     []event.Event
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), event.MaxPayload+1)
	for sc.Scan() {
		if err := dec.Decode(sc.Bytes(), &e); err != nil {
			continue
		}
		clean.Event(&e)
		if _, dup := seen[e.EventID]; dup {
			continue
		}
		seen[e.EventID] = struct{}{}
		if outcome.Engages(e.Action) {
			engaged[e.UserID+"\x00"+e.ItemID] = true
		}
		evs = append(evs, e)
		e = event.Event{}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	slices.SortFunc(evs, func(a, b event.Event) int {
		return cmp.Or(cmp.Compare(a.EventTime, b.EventTime), strings.Compare(a.EventID, b.EventID))
	})
	fzs := make([]*spec.Featurizer, len(ms))
	learners := make([]map[string]models.Learner, len(ms))
	for i := range ms {
		f, err := ms[i].Featurizer()
		if err != nil {
			return st, err
		}
		fzs[i], learners[i] = f, map[string]models.Learner{}
	}
	counts := make([]int64, len(ms))
	t0 := time.Now()
	for k := range evs {
		e := &evs[k]
		for i := range ms {
			m := &ms[i]
			if !m.Sees(e.Action) {
				continue
			}
			var y float64
			if m.Delayed() {
				if engaged[e.UserID+"\x00"+e.ItemID] {
					y = 1
				}
			} else {
				v, ok := m.LabelOf(e)
				if !ok || math.IsNaN(v) || math.IsInf(v, 0) || (m.Kind == spec.Logistic && v != 0 && v != 1) {
					continue
				}
				y = v
			}
			key := m.KeyOf(e)
			l, ok := learners[i][key]
			if !ok {
				var err error
				if l, err = m.NewLearner(); err != nil {
					return st, err
				}
				learners[i][key] = l
			}
			l.PredictLearn(fzs[i].Vector(e), y)
			counts[i]++
		}
	}
	for i, c := range counts {
		st.PerModel[ms[i].ID()] += c
		st.Updates += c
	}
	st.Train = time.Since(t0).Seconds()
	return st, nil
}
