package spec

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/feature"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// Featurizer turns events into a model's hashed feature vectors. It is not
// safe for concurrent use.
type Featurizer struct {
	b       *feature.Builder
	log1p   bool
	inputs  []input
	mapKeys []string // scratch: sorted map keys, for a deterministic order
}

type input struct {
	field string
	kind  int // 0 categorical, 1 numeric, 2 time
	g     feature.Group
}

// Featurizer returns a featurizer for a validated model.
func (m *Model) Featurizer() (*Featurizer, error) {
	b, err := feature.New(feature.Config{Bits: m.Bits, Interactions: m.Features.Interactions, Bias: !m.Features.NoBias})
	if err != nil {
		return nil, err
	}
	f := &Featurizer{b: b, log1p: m.Features.Log1p}
	for _, c := range m.Features.Categorical {
		f.inputs = append(f.inputs, input{c, 0, b.Group(c)})
	}
	for _, n := range m.Features.Numeric {
		f.inputs = append(f.inputs, input{n, 1, b.Group(n)})
	}
	for _, t := range m.Features.Time {
		f.inputs = append(f.inputs, input{t, 2, b.Group(t)})
	}
	return f, nil
}

// Trim returns the part of e that the featurizer reads, with e's id, time
// and label: Vector and Names give the same for it as for e. Examples
// travel trimmed, so that the runner copies only what a model uses.
func (f *Featurizer) Trim(e *event.Event) event.Event {
	t := event.Event{EventID: e.EventID, EventTime: e.EventTime, Label: e.Label, HasLabel: e.HasLabel}
	for _, in := range f.inputs {
		switch in.kind {
		case 0:
			if in.field == "action" {
				t.Action = e.Action
			} else if v := textField(e, in.field); v != nil {
				*textField(&t, in.field) = *v
			}
		case 1:
			switch in.field {
			case "watch_seconds":
				t.WatchSeconds, t.HasWatch = e.WatchSeconds, e.HasWatch
			case "duration_seconds":
				t.DurationSeconds, t.HasDuration = e.DurationSeconds, e.HasDuration
			case "amount":
				t.Amount, t.HasAmount = e.Amount, e.HasAmount
			default: // features.* or features.<name>; read only
				t.Features = e.Features
			}
		}
	}
	return t
}

// Dim returns the number of weights the featurizer addresses.
func (f *Featurizer) Dim() int { return f.b.Dim() }

// Vector returns e's feature vector, valid until the next call.
func (f *Featurizer) Vector(e *event.Event) models.Vector {
	f.b.Reset()
	f.each(e, func(g feature.Group, name, value string, v float64) {
		if value != "" {
			f.b.Categorical(g, name, value)
		} else {
			f.b.Numeric(g, name, v)
		}
	})
	return f.b.Vector()
}

// Names calls fn with the index and key (name or name=value) of each of
// e's first-order features and the bias, for labelling weights.
func (f *Featurizer) Names(e *event.Event, fn func(index uint32, key string)) {
	bits := f.b.Bits()
	f.each(e, func(_ feature.Group, name, value string, v float64) {
		if value != "" {
			fn(feature.Index(feature.HashPair(name, value), bits), name+"="+value)
		} else if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
			fn(feature.Index(feature.Hash(name), bits), name)
		}
	})
	fn(feature.Index(feature.Hash(feature.BiasKey), bits), feature.BiasKey)
}

func (f *Featurizer) num(v float64) float64 {
	if f.log1p {
		return math.Copysign(math.Log1p(math.Abs(v)), v)
	}
	return v
}

func (f *Featurizer) each(e *event.Event, add func(g feature.Group, name, value string, v float64)) {
	for _, in := range f.inputs {
		switch in.kind {
		case 0:
			add(in.g, in.field, categorical(e, in.field), 0)
		case 1:
			switch in.field {
			case "watch_seconds":
				if e.HasWatch {
					add(in.g, in.field, "", f.num(e.WatchSeconds))
				}
			case "duration_seconds":
				if e.HasDuration {
					add(in.g, in.field, "", f.num(e.DurationSeconds))
				}
			case "amount":
				if e.HasAmount {
					add(in.g, in.field, "", f.num(e.Amount))
				}
			case "features.*":
				// Map order is random: sort so the vector, and so the
				// learner's floating-point sums, are reproducible.
				f.mapKeys = f.mapKeys[:0]
				for k := range e.Features {
					f.mapKeys = append(f.mapKeys, k)
				}
				slices.Sort(f.mapKeys)
				for _, k := range f.mapKeys {
					add(in.g, "features."+k, "", f.num(e.Features[k]))
				}
			default:
				name := strings.TrimPrefix(in.field, "features.")
				if v, ok := e.Features[name]; ok {
					add(in.g, in.field, "", f.num(v))
				}
			}
		case 2:
			t := time.UnixMilli(e.EventTime).UTC()
			if in.field == HourOfDay {
				add(in.g, in.field, strconv.Itoa(t.Hour()), 0)
			} else {
				add(in.g, in.field, t.Weekday().String(), 0)
			}
		}
	}
}

// categorical returns e's value of a categorical field; an empty value is
// hashed as "unknown" so that its absence is itself a feature.
func categorical(e *event.Event, field string) string {
	var v string
	if field == "action" {
		v = e.Action.String()
	} else if p := textField(e, field); p != nil {
		v = *p
	}
	if v == "" {
		return "unknown"
	}
	return v
}

// textField returns e's categorical text field of that name, or nil
// (action is categorical but not text).
func textField(e *event.Event, field string) *string {
	switch field {
	case "user_id":
		return &e.UserID
	case "item_id":
		return &e.ItemID
	case "category":
		return &e.Category
	case "device":
		return &e.Device
	case "region":
		return &e.Region
	}
	return nil
}
