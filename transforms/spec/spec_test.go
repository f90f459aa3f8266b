package spec_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

const valid = `{"name":"m","kind":"logistic","key":"global","label":"label","features":{"categorical":["region"]}}`

func TestParseErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", `{"models":[]}`, "models: no models"},
		{"unknown field", `[{"name":"m","kind":"logistic","label":"label","lable":"x"}]`, `unknown field "lable"`},
		{"no name", `[{"kind":"logistic","label":"label"}]`, "name: must be non-empty"},
		{"kind", `[{"name":"m","kind":"svm","label":"label"}]`, `(m) kind: "svm" is not one of`},
		{"optimizer", `[{"name":"m","kind":"logistic","optimizer":"adam","label":"label"}]`, `(m) optimizer: "adam"`},
		{"rls optimizer", `[{"name":"m","kind":"rls","optimizer":"sgd","label":"amount"}]`, `(m) optimizer: rls takes no optimizer`},
		{"key", `[{"name":"m","kind":"linear","key":"device","label":"amount"}]`, `(m) key: "device"`},
		{"action", `[{"name":"m","kind":"linear","actions":["view","teleport"],"label":"amount"}]`, `(m) actions: "teleport"`},
		{"no label", `[{"name":"m","kind":"linear"}]`, `(m) label: missing`},
		{"label", `[{"name":"m","kind":"linear","label":"clicks"}]`, `(m) label: "clicks"`},
		{"engagement kind", `[{"name":"m","kind":"linear","actions":["view"],"label":"engagement"}]`, `(m) label: engagement is a 0/1 outcome`},
		{"engagement actions", `[{"name":"m","kind":"logistic","label":"engagement"}]`, `(m) actions: an engagement model scores views`},
		{"negative alpha", `[{"name":"m","kind":"logistic","alpha":-1,"label":"label"}]`, `(m) alpha: -1 must be non-negative`},
		{"lambda", `[{"name":"m","kind":"rls","lambda":1.5,"label":"amount"}]`, `(m) lambda: 1.5 out of range`},
		{"rls bits", `[{"name":"m","kind":"rls","bits":16,"label":"amount"}]`, `(m) bits: 16 out of range [1, 12]`},
		{"bits", `[{"name":"m","kind":"logistic","bits":31,"label":"label"}]`, `(m) bits: 31 out of range`},
		{"snapshot", `[{"name":"m","kind":"logistic","snapshot":"soon","label":"label"}]`, `(m) snapshot: "soon"`},
		{"categorical", `[{"name":"m","kind":"logistic","label":"label","features":{"categorical":["colour"]}}]`, `(m) features.categorical: "colour"`},
		{"numeric", `[{"name":"m","kind":"logistic","label":"label","features":{"numeric":["features."]}}]`, `(m) features.numeric: "features."`},
		{"time", `[{"name":"m","kind":"logistic","label":"label","features":{"time":["minute"]}}]`, `(m) features.time: "minute"`},
		{"interaction", `[{"name":"m","kind":"logistic","label":"label","features":{"categorical":["region"],"interactions":[["region","device"]]}}]`, `(m) features.interactions: "device"`},
		{"shards", `[{"name":"m","kind":"logistic","shards":65,"label":"label"}]`, `(m) shards: 65 out of range`},
		{"keyed shards", `[{"name":"m","kind":"logistic","key":"user_id","shards":4,"label":"label"}]`, `(m) shards: only a key global model`},
		{"forgetting shards", `[{"name":"m","kind":"rls","shards":2,"lambda":0.99,"label":"amount"}]`, `(m) shards: an rls model merges exactly only without forgetting`},
		{"ridge", `[{"name":"m","kind":"ols","ridge":-1,"label":"amount"}]`, `(m) ridge: -1 must be non-negative`},
		{"ols optimizer", `[{"name":"m","kind":"ols","optimizer":"sgd","label":"amount"}]`, `(m) optimizer: ols takes no optimizer`},
		{"merge", `[{"name":"m","kind":"logistic","shards":4,"merge":"10ms","label":"label"}]`, `(m) merge: "10ms"`},
		{"auc window", `[{"name":"m","kind":"logistic","auc_window":-3,"label":"label"}]`, `(m) auc_window: -3`},
		{"duplicate", `[` + valid + `,` + valid + `]`, `models[1]: (m) name: duplicate`},
		{"second model", `[` + valid + `,{"name":"n","kind":"rls","label":"amount","delta":-2}]`, `models[1]: (n) delta: -2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%s) succeeded, want error containing %q", tc.doc, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseDefaultsAndAccessors(t *testing.T) {
	ms, err := spec.Parse([]byte(`[` + valid + `,{"name":"w","kind":"linear","key":"category","actions":["view"],"label":"watch_seconds","snapshot":"5m"}]`))
	if err != nil {
		t.Fatal(err)
	}
	m, w := ms[0], ms[1]
	if m.Optimizer != "ftrl" || m.Bits != spec.DefaultBits || m.AUCWindow != spec.DefaultAUCWindow || m.SnapshotEvery() != spec.DefaultSnapshot {
		t.Errorf("logistic defaults: %+v", m)
	}
	if w.Optimizer != "adagrad" || w.SnapshotEvery().Minutes() != 5 {
		t.Errorf("linear defaults: %+v", w)
	}
	e := event.Event{Action: event.Like, Category: "music", WatchSeconds: 3, HasWatch: true}
	if w.Sees(e.Action) || !m.Sees(e.Action) {
		t.Errorf("Sees(like): watch %v, m %v", w.Sees(e.Action), m.Sees(e.Action))
	}
	if k := w.KeyOf(&e); k != "music" {
		t.Errorf("KeyOf = %q", k)
	}
	if y, ok := w.LabelOf(&e); !ok || y != 3 {
		t.Errorf("LabelOf = %v, %v", y, ok)
	}
	if _, ok := m.LabelOf(&e); ok {
		t.Errorf("event without label has a label")
	}
}

// The featurizer is deterministic despite map iteration order and puts
// features of equal events at equal indices.
func TestFeaturizerDeterministic(t *testing.T) {
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","label":"label","bits":20,
		"features":{"categorical":["region","device"],"numeric":["features.*"],"time":["hour_of_day"],"interactions":[["region","device"]]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ms[0].Featurizer()
	if err != nil {
		t.Fatal(err)
	}
	feats := map[string]float64{}
	for i := range 50 {
		feats[strings.Repeat("k", i+1)] = float64(i + 1)
	}
	e := event.Event{Region: "eu", Device: "ios", EventTime: 3 * 3600 * 1000, Features: feats}
	first := f.Vector(&e)
	idx := append([]uint32(nil), first.Index...)
	val := append([]float64(nil), first.Value...)
	// 2 categorical + 50 numeric + 1 hour + 1 interaction + bias.
	if len(idx) != 55 {
		t.Fatalf("%d features, want 55", len(idx))
	}
	for range 20 {
		v := f.Vector(&e)
		for i := range idx {
			if v.Index[i] != idx[i] || v.Value[i] != val[i] {
				t.Fatalf("vector differs at %d", i)
			}
		}
	}
}

func TestVariantsExpand(t *testing.T) {
	ms, err := spec.Parse([]byte(`[{"name":"m","kind":"logistic","alpha":0.1,"l2":2,"label":"label",
		"variants":[{"name":"slow","alpha":0.01},{"name":"fast","alpha":1,"l2":0}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].ID() != "m:slow" || ms[1].ID() != "m:fast" || ms[0].Alpha != 0.01 || ms[0].L2 != 2 || ms[1].Alpha != 1 || ms[1].L2 != 0 {
		t.Errorf("expanded %+v", ms)
	}
	for _, tc := range []struct{ doc, want string }{
		{`[{"name":"m","kind":"logistic","label":"label","variants":[{"name":"a"},{"name":"b","alpha":-1}]}]`, `models[0]: variants[1]: (m:b) alpha: -1`},
		{`[{"name":"m","kind":"logistic","label":"label","variants":[{"name":"a"},{"name":"a"}]}]`, `(m) variants[1].name: "a"`},
		{`[{"name":"m","kind":"logistic","label":"label","variants":[{"name":"a","gamma":1}]}]`, `unknown field "gamma"`},
	} {
		if _, err := spec.Parse([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse error %v, want %q", err, tc.want)
		}
	}
}

// A trimmed event has the feature vector and names of the whole one, for
// every kind of input, and drops the fields no input reads.
func TestTrimKeepsTheFeatures(t *testing.T) {
	specs := []string{
		`"categorical":["user_id","item_id","category","device","region","action"],"interactions":[["region","category"]]`,
		`"numeric":["watch_seconds","duration_seconds","amount"],"time":["hour_of_day","day_of_week"],"log1p":true`,
		`"numeric":["features.*"]`,
		`"categorical":["device"],"numeric":["features.f2"]`,
	}
	events := []event.Event{
		{EventID: "a", UserID: "u1", ItemID: "i1", Action: event.Purchase, EventTime: 1767225600123, Category: "music",
			Device: "ios", Region: "eu", Text: "hello", WatchSeconds: 3, HasWatch: true, DurationSeconds: 60, HasDuration: true,
			Amount: 9.5, HasAmount: true, Label: 1, HasLabel: true, Features: map[string]float64{"f1": 1, "f2": -2}},
		{EventID: "b", UserID: "u2", Action: event.View, EventTime: 1767229200000, Region: "us"},
	}
	for _, sp := range specs {
		ms, err := spec.Parse([]byte(`[{"name":"m","kind":"linear","label":"label","bits":12,"features":{` + sp + `}}]`))
		if err != nil {
			t.Fatalf("%s: %v", sp, err)
		}
		f, err := ms[0].Featurizer()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			tr := f.Trim(&e)
			if tr.EventID != e.EventID || tr.EventTime != e.EventTime || tr.Label != e.Label || tr.HasLabel != e.HasLabel {
				t.Errorf("%s: trimmed %+v lost id, time or label of %+v", sp, tr, e)
			}
			if tr.Text != "" {
				t.Errorf("%s: trimmed event kept the text", sp)
			}
			want, got := f.Vector(&e), f.Vector(&tr)
			if !slices.Equal(want.Index, got.Index) || !slices.Equal(want.Value, got.Value) {
				t.Errorf("%s: event %s: vector of the trimmed event differs", sp, e.EventID)
			}
			if names(f, &e) != names(f, &tr) {
				t.Errorf("%s: event %s: names %q, trimmed %q", sp, e.EventID, names(f, &e), names(f, &tr))
			}
		}
	}
	ms, _ := spec.Parse([]byte(`[{"name":"m","kind":"linear","label":"label","features":{"categorical":["region"]}}]`))
	f, _ := ms[0].Featurizer()
	if tr := f.Trim(&events[0]); tr.UserID != "" || tr.ItemID != "" || tr.Features != nil || tr.HasWatch {
		t.Errorf("region-only trim kept unused fields: %+v", tr)
	}
}

func names(f *spec.Featurizer, e *event.Event) string {
	var b strings.Builder
	f.Names(e, func(i uint32, k string) { fmt.Fprintf(&b, "%d=%s ", i, k) })
	return b.String()
}
