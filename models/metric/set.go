package metric

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models/internal/codec"
)

// Task says which metrics a Set keeps.
type Task uint8

const (
	// Classification keeps LogLoss, Accuracy and, with a window, AUC, for
	// labels in {0, 1} and predicted probabilities.
	Classification Task = 1
	// Regression keeps MAE, RMSE and R2.
	Regression Task = 2
)

// maxAUCWindow bounds the AUC window a snapshot may ask for.
const maxAUCWindow = 1 << 24

// Set is the bundle of progressive metrics a learner keeps for its task.
// Fields of the other task stay zero.
type Set struct {
	task     Task
	LogLoss  LogLoss
	Accuracy Accuracy
	AUC      *AUC // nil without a window
	MAE      MAE
	RMSE     RMSE
	R2       R2
}

// Value is one named metric value.
type Value struct {
	Name      string
	Value     float64
	Mergeable bool
}

// NewClassification returns a classification Set; aucWindow > 0 also keeps
// the AUC of the last aucWindow examples.
func NewClassification(aucWindow int) *Set {
	s := &Set{task: Classification}
	if aucWindow > 0 {
		s.AUC = NewAUC(aucWindow)
	}
	return s
}

// NewRegression returns a regression Set.
func NewRegression() *Set { return &Set{task: Regression} }

// Task returns the set's task.
func (s *Set) Task() Task { return s.task }

// N returns how many examples the set has scored.
func (s *Set) N() int64 {
	if s.task == Classification {
		return s.LogLoss.N
	}
	return s.MAE.N
}

// Update scores one prediction.
func (s *Set) Update(y, pred float64) {
	if s.task == Classification {
		s.LogLoss.Update(y, pred)
		s.Accuracy.Update(y, pred)
		if s.AUC != nil {
			s.AUC.Update(y, pred)
		}
		return
	}
	s.MAE.Update(y, pred)
	s.RMSE.Update(y, pred)
	s.R2.Update(y, pred)
}

// Merge adds o's mergeable metrics; the receiver keeps its own AUC window.
func (s *Set) Merge(o *Set) error {
	if s.task != o.task {
		return fmt.Errorf("metric: merge task %d into task %d", o.task, s.task)
	}
	s.LogLoss.Merge(&o.LogLoss)
	s.Accuracy.Merge(&o.Accuracy)
	s.MAE.Merge(&o.MAE)
	s.RMSE.Merge(&o.RMSE)
	s.R2.Merge(&o.R2)
	return nil
}

// Values returns the task's metrics in a fixed order.
func (s *Set) Values() []Value {
	if s.task == Classification {
		v := []Value{
			{"logloss", s.LogLoss.Value(), true},
			{"accuracy", s.Accuracy.Value(), true},
		}
		if s.AUC != nil {
			v = append(v, Value{"auc", s.AUC.Value(), false})
		}
		return v
	}
	return []Value{
		{"mae", s.MAE.Value(), true},
		{"rmse", s.RMSE.Value(), true},
		{"r2", s.R2.Value(), true},
	}
}

// Clone returns a deep copy.
func (s *Set) Clone() *Set {
	c := *s
	if s.AUC != nil {
		a := *s.AUC
		a.score = append([]float64(nil), s.AUC.score...)
		a.label = append([]bool(nil), s.AUC.label...)
		a.pairs = nil
		c.AUC = &a
	}
	return &c
}

// MarshalBinary encodes the set.
func (s *Set) MarshalBinary() ([]byte, error) {
	e := codec.NewEncoder(codec.KindMetrics, 128)
	e.U8(uint8(s.task))
	e.F64(s.LogLoss.Sum)
	e.I64(s.LogLoss.N)
	e.I64(s.Accuracy.Correct)
	e.I64(s.Accuracy.N)
	e.F64(s.MAE.Sum)
	e.I64(s.MAE.N)
	e.F64(s.RMSE.Sum)
	e.I64(s.RMSE.N)
	e.I64(s.R2.N)
	e.F64(s.R2.Mean)
	e.F64(s.R2.M2)
	e.F64(s.R2.SSE)
	if s.AUC == nil {
		e.U32(0)
	} else {
		a := s.AUC
		e.U32(uint32(len(a.score)))
		e.U32(uint32(a.next))
		e.Bool(a.full)
		e.F64s(a.score)
		for _, l := range a.label {
			e.Bool(l)
		}
	}
	return e.Finish(), nil
}

// UnmarshalBinary decodes a set written by MarshalBinary.
func (s *Set) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindMetrics)
	if err != nil {
		return fmt.Errorf("metric: decode set: %w", err)
	}
	var n Set
	n.task = Task(d.U8())
	if d.Err() == nil && n.task != Classification && n.task != Regression {
		d.Fail("unknown task %d", n.task)
	}
	n.LogLoss = LogLoss{d.F64(), d.Count()}
	n.Accuracy = Accuracy{d.Count(), d.Count()}
	n.MAE = MAE{d.F64(), d.Count()}
	n.RMSE = RMSE{d.F64(), d.Count()}
	n.R2 = R2{d.Count(), d.F64(), d.F64(), d.F64()}
	if w := int(d.U32()); w > 0 && d.Err() == nil {
		next := int(d.U32())
		full := d.Bool()
		if w > maxAUCWindow || w > d.Remaining()/9 || next >= w {
			d.Fail("bad AUC window %d at %d", w, next)
		} else {
			a := NewAUC(w)
			a.next, a.full = next, full
			d.F64s(a.score)
			for i := range a.label {
				a.label[i] = d.Bool()
			}
			n.AUC = a
		}
	}
	if err := d.Finish(); err != nil {
		return fmt.Errorf("metric: decode set: %w", err)
	}
	*s = n
	return nil
}
