// Package spec declares the learn pipeline's models: which events a model
// sees, how it keys them, its label, its features and its learner. Specs
// are read from JSON, validated up front (an error names the model and the
// field), and turned into learners and feature builders.
//
// A file is either a list of models or {"models": [...]}. Unknown fields are
// errors, so a misspelt field does not silently fall back to a default.
package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/feature"
	"github.com/pulse-analytics/pulse/models/linreg"
	"github.com/pulse-analytics/pulse/models/logreg"
	"github.com/pulse-analytics/pulse/models/ols"
	"github.com/pulse-analytics/pulse/models/rls"
	"github.com/pulse-analytics/pulse/transforms/event"
)

// Model kinds.
const (
	Linear   = "linear"
	Logistic = "logistic"
	RLS      = "rls"
	// OLS is exact least squares (ridge optional) from sufficient
	// statistics: it never forgets, and its shards merge exactly.
	OLS = "ols"
)

// Key values: one model per distinct value of the field.
const (
	KeyGlobal   = "global"
	KeyUser     = "user_id"
	KeyItem     = "item_id"
	KeyCategory = "category"
)

// Labels. LabelEngagement is the delayed outcome: a view is labelled 1 when
// the same user likes, comments on, shares or buys the same item within the
// outcome window, else 0 when the window closes.
const (
	LabelWatch      = "watch_seconds"
	LabelAmount     = "amount"
	LabelLabel      = "label"
	LabelEngagement = "engagement"
)

// Time features.
const (
	HourOfDay = "hour_of_day"
	DayOfWeek = "day_of_week"
)

// Defaults applied by Validate to zero fields.
const (
	DefaultBits      = 18
	DefaultRLSBits   = 6
	DefaultSnapshot  = 10 * time.Minute
	DefaultAUCWindow = 1000
	// DefaultMerge is how often a sharded model's shards are merged.
	DefaultMerge = 5 * time.Minute
	// MaxShards bounds a global model's shards.
	MaxShards = 64
)

// Model is one declared model.
type Model struct {
	// Name identifies the model in every output row; unique in a file.
	Name string `json:"name"`
	// Kind is linear, logistic, rls or ols.
	Kind string `json:"kind"`
	// Optimizer: logistic takes ftrl (default), sgd, adagrad or
	// normalized; linear takes sgd, adagrad (default) or normalized; rls
	// takes none.
	Optimizer string `json:"optimizer,omitempty"`
	// Hyper-parameters; zero means the optimizer's default.
	Alpha     float64 `json:"alpha,omitempty"`   // ftrl α [0.1]
	Beta      float64 `json:"beta,omitempty"`    // ftrl β [1]
	L1        float64 `json:"l1,omitempty"`      // ftrl λ₁ [0]
	L2        float64 `json:"l2,omitempty"`      // ftrl λ₂, sgd/adagrad L2 [0]
	Eta       float64 `json:"eta,omitempty"`     // sgd/adagrad/normalized learning rate [0.1]
	Epsilon   float64 `json:"epsilon,omitempty"` // adagrad ε [1e-8]
	Schedule  string  `json:"schedule,omitempty"`
	Lambda    float64 `json:"lambda,omitempty"` // rls forgetting factor [1]
	Delta     float64 `json:"delta,omitempty"`  // rls prior precision [1]
	Ridge     float64 `json:"ridge,omitempty"`  // ols ridge penalty [0]
	AUCWindow int     `json:"auc_window,omitempty"`
	// Key is global, user_id, item_id or category.
	Key string `json:"key"`
	// Actions lists the actions the model sees; empty means all.
	Actions []string `json:"actions,omitempty"`
	// Label is watch_seconds, amount, label or engagement. Events without
	// the field are skipped.
	Label string `json:"label"`
	// Features selects the inputs.
	Features Features `json:"features"`
	// Bits is the hashed feature width: 2^Bits weights (at most 12 for rls
	// and ols).
	Bits int `json:"bits,omitempty"`
	// Snapshot is how often the model is written to model_snapshots, as a
	// Go duration ("10m").
	Snapshot string `json:"snapshot,omitempty"`
	// Shards spreads a global model's examples over this many replicas
	// trained side by side and merged every Merge interval (see
	// transforms/learn); 0 or 1 trains one model on one key, which sees
	// every example in order. Only key global may be sharded.
	Shards int `json:"shards,omitempty"`
	// Merge is how often (event time, a Go duration) the shards of a
	// sharded model are merged; default DefaultMerge.
	Merge string `json:"merge,omitempty"`
	// Variants trains copies of the model side by side, each with some
	// hyper-parameters overridden (a grid search): Parse expands a model
	// with variants into one Model per variant.
	Variants []Variant `json:"variants,omitempty"`
	// Variant names the variant an expanded Model is; empty otherwise.
	Variant string `json:"variant,omitempty"`

	actions  []event.Action
	snapshot time.Duration
	merge    time.Duration
}

// Variant overrides a model's hyper-parameters; nil fields keep the
// model's.
type Variant struct {
	Name    string   `json:"name"`
	Alpha   *float64 `json:"alpha,omitempty"`
	Beta    *float64 `json:"beta,omitempty"`
	L1      *float64 `json:"l1,omitempty"`
	L2      *float64 `json:"l2,omitempty"`
	Eta     *float64 `json:"eta,omitempty"`
	Epsilon *float64 `json:"epsilon,omitempty"`
	Lambda  *float64 `json:"lambda,omitempty"`
	Delta   *float64 `json:"delta,omitempty"`
	Ridge   *float64 `json:"ridge,omitempty"`
}

// ID is the model's name, with ":variant" for a variant.
func (m *Model) ID() string {
	if m.Variant == "" {
		return m.Name
	}
	return m.Name + ":" + m.Variant
}

// expand returns m's variants as models, or m alone.
func (m Model) expand() ([]Model, error) {
	if len(m.Variants) == 0 {
		return []Model{m}, nil
	}
	out := make([]Model, 0, len(m.Variants))
	seen := map[string]bool{}
	for i, v := range m.Variants {
		if v.Name == "" || strings.ContainsAny(v.Name, "\x00/:") || seen[v.Name] {
			return nil, fmt.Errorf("(%s) variants[%d].name: %q must be non-empty, unique, without '/', ':' or NUL", m.Name, i, v.Name)
		}
		seen[v.Name] = true
		c := m
		c.Variants, c.Variant = nil, v.Name
		for _, o := range []struct {
			dst *float64
			src *float64
		}{{&c.Alpha, v.Alpha}, {&c.Beta, v.Beta}, {&c.L1, v.L1}, {&c.L2, v.L2}, {&c.Eta, v.Eta}, {&c.Epsilon, v.Epsilon}, {&c.Lambda, v.Lambda}, {&c.Delta, v.Delta}, {&c.Ridge, v.Ridge}} {
			if o.src != nil {
				*o.dst = *o.src
			}
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("variants[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Features selects a model's inputs.
type Features struct {
	// Categorical fields, hashed as name=value: user_id, item_id,
	// category, device, region, action.
	Categorical []string `json:"categorical,omitempty"`
	// Numeric fields: watch_seconds, duration_seconds, amount, or
	// features.<name> from the event's map; "features.*" takes them all.
	Numeric []string `json:"numeric,omitempty"`
	// Time features: hour_of_day, day_of_week (UTC), hashed as categories.
	Time []string `json:"time,omitempty"`
	// Interactions crosses two fields' features (names as above).
	Interactions [][2]string `json:"interactions,omitempty"`
	// Log1p maps numeric values v to sign(v)·log(1+|v|), taming heavy
	// tails such as durations.
	Log1p bool `json:"log1p,omitempty"`
	// NoBias drops the constant feature.
	NoBias bool `json:"no_bias,omitempty"`
}

// File is the JSON document form.
type File struct {
	Models []Model `json:"models"`
}

// Load reads and validates a spec file.
func Load(path string) ([]Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	ms, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// Parse decodes and validates a spec document.
func Parse(data []byte) ([]Model, error) {
	var ms []Model
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ms); err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
	} else {
		var f File
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
		ms = f.Models
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("spec: models: no models declared")
	}
	seen := map[string]bool{}
	n := 0
	for i := range ms {
		n += max(1, len(ms[i].Variants))
	}
	// Sized up front: appending would allocate about as much again in
	// discarded arrays, and Parse must allocate in proportion to the
	// document (TestParseAllocatesInProportionToTheDocument).
	out := make([]Model, 0, n)
	for i := range ms {
		if err := ms[i].Validate(); err != nil {
			return nil, fmt.Errorf("spec: models[%d]: %w", i, err)
		}
		if seen[ms[i].Name] {
			return nil, fmt.Errorf("spec: models[%d]: (%s) name: duplicate of an earlier model", i, ms[i].Name)
		}
		seen[ms[i].Name] = true
		vs, err := ms[i].expand()
		if err != nil {
			return nil, fmt.Errorf("spec: models[%d]: %w", i, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

var (
	categoricalFields = []string{"user_id", "item_id", "category", "device", "region", "action"}
	numericFields     = []string{"watch_seconds", "duration_seconds", "amount"}
	timeFields        = []string{HourOfDay, DayOfWeek}
)

// Validate checks m and fills defaults. Its error names the field.
func (m *Model) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("(%s) %s: %s", m.ID(), field, fmt.Sprintf(format, args...))
	}
	if m.Name == "" || strings.ContainsAny(m.Name, "\x00/:") {
		return bad("name", "must be non-empty, without '/', ':' or NUL")
	}
	switch m.Kind {
	case Logistic:
		if m.Optimizer == "" {
			m.Optimizer = "ftrl"
		}
		if !slices.Contains([]string{"ftrl", "sgd", "adagrad", "normalized"}, m.Optimizer) {
			return bad("optimizer", "%q is not one of ftrl, sgd, adagrad, normalized", m.Optimizer)
		}
	case Linear:
		if m.Optimizer == "" {
			m.Optimizer = "adagrad"
		}
		if !slices.Contains([]string{"sgd", "adagrad", "normalized"}, m.Optimizer) {
			return bad("optimizer", "%q is not one of sgd, adagrad, normalized", m.Optimizer)
		}
	case RLS, OLS:
		if m.Optimizer != "" && m.Optimizer != m.Kind {
			return bad("optimizer", "%s takes no optimizer, got %q", m.Kind, m.Optimizer)
		}
	default:
		return bad("kind", "%q is not one of linear, logistic, rls, ols", m.Kind)
	}
	if m.Schedule != "" && m.Schedule != "constant" && m.Schedule != "invsqrt" {
		return bad("schedule", "%q is not one of constant, invsqrt", m.Schedule)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"alpha", m.Alpha}, {"beta", m.Beta}, {"l1", m.L1}, {"l2", m.L2}, {"eta", m.Eta}, {"epsilon", m.Epsilon}, {"lambda", m.Lambda}, {"delta", m.Delta}, {"ridge", m.Ridge}} {
		if p.v < 0 || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return bad(p.name, "%v must be non-negative and finite", p.v)
		}
	}
	if m.Lambda > 1 {
		return bad("lambda", "%v out of range (0, 1]", m.Lambda)
	}
	if m.AUCWindow < 0 || m.AUCWindow > 1<<24 {
		return bad("auc_window", "%d out of range [0, 2^24]", m.AUCWindow)
	}
	switch m.Key {
	case KeyGlobal, KeyUser, KeyItem, KeyCategory:
	case "":
		m.Key = KeyGlobal
	default:
		return bad("key", "%q is not one of global, user_id, item_id, category", m.Key)
	}
	m.actions = m.actions[:0]
	for _, a := range m.Actions {
		act, ok := event.ParseAction(a)
		if !ok {
			return bad("actions", "%q is not an action", a)
		}
		m.actions = append(m.actions, act)
	}
	switch m.Label {
	case LabelWatch, LabelAmount, LabelLabel:
	case LabelEngagement:
		if m.Kind != Logistic {
			return bad("label", "engagement is a 0/1 outcome: kind must be logistic, not %s", m.Kind)
		}
		if len(m.actions) != 1 || m.actions[0] != event.View {
			return bad("actions", "an engagement model scores views: actions must be [\"view\"]")
		}
	case "":
		return bad("label", "missing: one of watch_seconds, amount, label, engagement")
	default:
		return bad("label", "%q is not one of watch_seconds, amount, label, engagement", m.Label)
	}
	if m.Bits == 0 {
		m.Bits = DefaultBits
		if m.Kind == RLS || m.Kind == OLS {
			m.Bits = DefaultRLSBits
		}
	}
	maxBits := feature.MaxBits
	if m.Kind == RLS || m.Kind == OLS {
		maxBits = 12 // rls.MaxDim, ols.MaxDim
	}
	if m.Bits < 1 || m.Bits > maxBits {
		return bad("bits", "%d out of range [1, %d]", m.Bits, maxBits)
	}
	m.snapshot = DefaultSnapshot
	if m.Snapshot != "" {
		d, err := time.ParseDuration(m.Snapshot)
		if err != nil || d < time.Second {
			return bad("snapshot", "%q is not a duration of at least 1s", m.Snapshot)
		}
		m.snapshot = d
	}
	switch {
	case m.Shards < 0 || m.Shards > MaxShards:
		return bad("shards", "%d out of range [1, %d]", m.Shards, MaxShards)
	case m.Shards > 1 && m.Key != KeyGlobal:
		return bad("shards", "only a key global model is sharded; a %s model is spread by its key already", m.Key)
	case m.Shards > 1 && m.Kind == RLS && m.Lambda != 0 && m.Lambda != 1:
		// Forgetting weighs an example by how many came after it in the
		// one global order, which separate shards do not know.
		return bad("shards", "an rls model merges exactly only without forgetting: lambda must be 1 (is %v) or shards 1", m.Lambda)
	}
	m.merge = DefaultMerge
	if m.Merge != "" {
		d, err := time.ParseDuration(m.Merge)
		if err != nil || d < time.Second {
			return bad("merge", "%q is not a duration of at least 1s", m.Merge)
		}
		m.merge = d
	}
	f := m.Features
	for _, c := range f.Categorical {
		if !slices.Contains(categoricalFields, c) {
			return bad("features.categorical", "%q is not one of %s", c, strings.Join(categoricalFields, ", "))
		}
	}
	for _, n := range f.Numeric {
		if !slices.Contains(numericFields, n) && !(strings.HasPrefix(n, "features.") && len(n) > len("features.")) {
			return bad("features.numeric", "%q is not one of %s or features.<name>", n, strings.Join(numericFields, ", "))
		}
	}
	for _, t := range f.Time {
		if !slices.Contains(timeFields, t) {
			return bad("features.time", "%q is not one of hour_of_day, day_of_week", t)
		}
	}
	for _, p := range f.Interactions {
		for _, n := range p {
			if !slices.Contains(f.Categorical, n) && !slices.Contains(f.Numeric, n) && !slices.Contains(f.Time, n) {
				return bad("features.interactions", "%q is not one of the model's features", n)
			}
		}
	}
	if len(f.Categorical)+len(f.Numeric)+len(f.Time) == 0 && f.NoBias {
		return bad("features", "no features and no bias")
	}
	if m.AUCWindow == 0 && m.Kind == Logistic {
		m.AUCWindow = DefaultAUCWindow
	}
	// Build once so that hyper-parameter errors surface here too, at the
	// smallest width and AUC window: the errors do not depend on them, and
	// a learner of 2^bits weights (up to 2^30) or an AUC window of up to
	// 2^24 is no thing to allocate per model while reading a file.
	probe := *m
	probe.Bits = 1
	probe.AUCWindow = min(probe.AUCWindow, 1)
	if _, err := probe.NewLearner(); err != nil {
		return bad(m.paramField(), "%v", err)
	}
	return nil
}

func (m *Model) paramField() string {
	switch {
	case m.Kind == RLS:
		return "lambda/delta"
	case m.Kind == OLS:
		return "ridge"
	case m.Optimizer == "ftrl":
		return "alpha/beta/l1/l2"
	}
	return "eta/l2/epsilon"
}

// SnapshotEvery returns the snapshot interval.
func (m *Model) SnapshotEvery() time.Duration {
	if m.snapshot == 0 {
		return DefaultSnapshot
	}
	return m.snapshot
}

// ShardCount returns how many shards train the model: Shards, at least 1.
func (m *Model) ShardCount() int { return max(m.Shards, 1) }

// Sharded reports whether the model trains on more than one shard.
func (m *Model) Sharded() bool { return m.Shards > 1 }

// MergeEvery returns the merge interval of a sharded model.
func (m *Model) MergeEvery() time.Duration {
	if m.merge == 0 {
		return DefaultMerge
	}
	return m.merge
}

// Delayed reports whether the label is the delayed engagement outcome.
func (m *Model) Delayed() bool { return m.Label == LabelEngagement }

// Sees reports whether the model takes events of action a.
func (m *Model) Sees(a event.Action) bool {
	return len(m.actions) == 0 || slices.Contains(m.actions, a)
}

// KeyOf returns e's key value under the model's key.
func (m *Model) KeyOf(e *event.Event) string {
	switch m.Key {
	case KeyUser:
		return e.UserID
	case KeyItem:
		return e.ItemID
	case KeyCategory:
		return e.Category
	}
	return KeyGlobal
}

// LabelOf returns e's label and whether it has one. For the engagement
// label it is the Label field that outcome.Label sets.
func (m *Model) LabelOf(e *event.Event) (float64, bool) {
	switch m.Label {
	case LabelWatch:
		return e.WatchSeconds, e.HasWatch
	case LabelAmount:
		return e.Amount, e.HasAmount
	}
	return e.Label, e.HasLabel
}

func or(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// NewLearner returns an untrained learner for the model.
func (m *Model) NewLearner() (models.Learner, error) {
	dim := 1 << m.Bits
	sched := m.Schedule == "invsqrt"
	switch m.Kind {
	case RLS:
		return rls.New(rls.Config{Dim: dim, Lambda: or(m.Lambda, 1), Delta: or(m.Delta, 1)})
	case OLS:
		return ols.New(ols.Config{Dim: dim, Ridge: m.Ridge})
	case Logistic:
		if m.Optimizer == "ftrl" {
			return logreg.NewFTRL(logreg.FTRLConfig{Dim: dim, Alpha: or(m.Alpha, 0.1), Beta: or(m.Beta, 1), L1: m.L1, L2: m.L2, AUCWindow: m.AUCWindow})
		}
		c := logreg.Config{Dim: dim, Eta: or(m.Eta, 0.1), L2: m.L2, Epsilon: or(m.Epsilon, 1e-8), AUCWindow: m.AUCWindow}
		c.Optimizer = map[string]logreg.Optimizer{"sgd": logreg.SGD, "adagrad": logreg.AdaGrad, "normalized": logreg.Normalized}[m.Optimizer]
		if sched {
			c.Schedule = logreg.InvSqrt
		}
		return logreg.New(c)
	default:
		c := linreg.Config{Dim: dim, Eta: or(m.Eta, 0.1), L2: m.L2, Epsilon: or(m.Epsilon, 1e-8)}
		c.Optimizer = map[string]linreg.Optimizer{"sgd": linreg.SGD, "adagrad": linreg.AdaGrad, "normalized": linreg.Normalized}[m.Optimizer]
		if sched {
			c.Schedule = linreg.InvSqrt
		}
		return linreg.New(c)
	}
}
