package learn_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/rls"
	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// TestMain runs on prism unsplit, as cmd/pulse does (job.UnsplitOnPrism).
func TestMain(m *testing.M) {
	job.UnsplitOnPrism("")
	ptest.Main(m)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// run builds the learn pipeline on the JSON lines, runs it on prism and
// returns the directory holding its tables.
func run(t *testing.T, cfg learn.Config, lines []string) string {
	t.Helper()
	return runParts(t, cfg, lines)
}

// runParts is run with the events in parts, one per slice of lines.
func runParts(t *testing.T, cfg learn.Config, parts ...[]string) string {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	var events []beam.PCollection
	for i, lines := range parts {
		ev, _ := parse.Lines(s.Scope(fmt.Sprint("Part", i)), "test", beam.CreateList(s, lines))
		events = append(events, ev)
	}
	tables, err := learn.Build(s, cfg, events...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jsonl.Write(s, dir, learn.TablePredictions, beam.Flatten(s, tables.Predictions...))
	jsonl.Write(s, dir, learn.TableModelMetrics, tables.ModelMetrics)
	jsonl.Write(s, dir, learn.TableModelSnapshots, tables.ModelSnapshots)
	jsonl.Write(s, dir, "alerts", tables.Alerts)
	if _, err := beamx.RunWithMetrics(t.Context(), p); err != nil {
		t.Fatalf("run: %v", err)
	}
	return dir
}

func readRows[T any](t *testing.T, dir, table string) []T {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, table, "*.jsonl"))
	var rows []T
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func parseSpecs(t *testing.T, doc string) []spec.Model {
	t.Helper()
	ms, err := spec.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// latest returns the snapshot of model and key with the highest version.
func latest(t *testing.T, snaps []learn.ModelSnapshot, model, key string) learn.ModelSnapshot {
	t.Helper()
	var best learn.ModelSnapshot
	best.Version = -1
	for _, s := range snaps {
		if s.Model == model && s.Key == key && s.Version > best.Version {
			best = s
		}
	}
	if best.Version < 0 {
		t.Fatalf("no snapshot of %s/%s", model, key)
	}
	return best
}

func decode(t *testing.T, s learn.ModelSnapshot) models.Learner {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s.State)
	if err != nil {
		t.Fatal(err)
	}
	l, err := models.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const rlsSpec = `[{"name":"spend","kind":"rls","lambda":1,"delta":1,"key":"global","actions":["purchase"],"label":"amount",
	"features":{"numeric":["features.f1","features.f2"]},"bits":6,"snapshot":"1m"}]`

// linearStream is purchases over ten minutes with amount = 1 + 3·f1 − 2·f2
// plus noise, shuffled so the pipeline must restore event-time order, and
// views the model must ignore.
func linearStream(n int) (lines []string, events []event.Event) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		f1, f2 := r.NormFloat64(), r.NormFloat64()
		e := event.Event{
			EventID: fmt.Sprintf("p%04d", i), UserID: "u", ItemID: "i", Action: event.Purchase,
			EventTime: t0 + int64(i/2)*2000, // pairs share a millisecond: event_id breaks the tie
			Amount:    1 + 3*f1 - 2*f2 + 0.01*r.NormFloat64(), HasAmount: true,
			Features: map[string]float64{"f1": f1, "f2": f2},
		}
		events = append(events, e)
		lines = append(lines, string(e.AppendJSON(nil)))
		v := e
		v.EventID, v.Action = "v"+e.EventID, event.View
		lines = append(lines, string(v.AppendJSON(nil)))
	}
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return lines, events
}

// RLS in the pipeline equals rls run directly on the same data in event
// time order, and recovers the planted relation.
func TestRLSMatchesDirectRun(t *testing.T) {
	const n = 600
	lines, events := linearStream(n)
	ms := parseSpecs(t, rlsSpec)
	dir := run(t, learn.Config{Models: ms, Batch: time.Minute}, lines)

	snaps := readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots)
	got := decode(t, latest(t, snaps, "spend", "global")).(*rls.Filter)
	if got.Examples() != n {
		t.Fatalf("final snapshot has %d examples, want %d", got.Examples(), n)
	}

	slices.SortFunc(events, func(a, b event.Event) int {
		if a.EventTime != b.EventTime {
			return int(a.EventTime - b.EventTime)
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	want, err := rls.New(rls.Config{Dim: 1 << 6, Lambda: 1, Delta: 1})
	if err != nil {
		t.Fatal(err)
	}
	fz, err := ms[0].Featurizer()
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		want.Learn(fz.Vector(&events[i]), events[i].Amount)
	}
	for i, w := range want.Weights() {
		if d := math.Abs(got.Weights()[i] - w); d > 1e-9 {
			t.Errorf("weight %d: pipeline %v, direct %v (diff %g)", i, got.Weights()[i], w, d)
		}
	}
	x := event.Event{Features: map[string]float64{"f1": 1, "f2": 1}}
	if p := got.Predict(fz.Vector(&x)); math.Abs(p-2) > 0.05 {
		t.Errorf("prediction at f1=f2=1 = %v, want about 1+3-2 = 2", p)
	}

	preds := readRows[learn.Prediction](t, dir, learn.TablePredictions)
	if len(preds) != n {
		t.Fatalf("%d predictions, want %d (views must be ignored)", len(preds), n)
	}
	versions := map[int64]bool{}
	for _, p := range preds {
		versions[p.Version] = true
	}
	if len(versions) != n {
		t.Errorf("%d distinct versions among %d predictions, want one per example", len(versions), n)
	}
	metrics := readRows[learn.ModelMetrics](t, dir, learn.TableModelMetrics)
	if len(metrics) != 10 {
		t.Errorf("%d metric rows, want one per minute: 10", len(metrics))
	}
	for _, m := range metrics {
		if m.Examples == n && (m.R2 == nil || *m.R2 < 0.9) {
			t.Errorf("final progressive R² = %v, want > 0.9", m.R2)
		}
	}
}

const engagementSpec = `[{"name":"engage","kind":"logistic","optimizer":"ftrl","alpha":0.5,"key":"global","actions":["view"],
	"label":"engagement","features":{"categorical":["region","device"]},"bits":12,"snapshot":"20m"}]`

// engagementStream has users in region "north" like what they view within
// 5 to 25 minutes with probability 0.8, others with probability 0.1. Each
// view is of a fresh item, so the outcome of each view is known.
func engagementStream(n int) (lines []string, engaged map[string]bool) {
	r := rand.New(rand.NewPCG(3, 4))
	regions := []string{"north", "south", "east", "west"}
	devices := []string{"ios", "android", "web"}
	engaged = map[string]bool{}
	for i := range n {
		u := r.IntN(200)
		v := event.Event{
			EventID: fmt.Sprintf("v%05d", i), UserID: fmt.Sprintf("u%d", u), ItemID: fmt.Sprintf("i%d", i),
			Action: event.View, EventTime: t0 + int64(i)*1000, Category: "music",
			Region: regions[u%4], Device: devices[r.IntN(3)],
		}
		lines = append(lines, string(v.AppendJSON(nil)))
		p := 0.1
		if v.Region == "north" {
			p = 0.8
		}
		if r.Float64() < p {
			engaged[v.EventID] = true
			l := v
			l.EventID, l.Action = "l"+v.EventID, []event.Action{event.Like, event.Comment, event.Share, event.Purchase}[r.IntN(4)]
			l.EventTime += int64(5+r.IntN(20)) * 60000
			lines = append(lines, string(l.AppendJSON(nil)))
		}
		if r.Float64() < 0.05 { // too late to count
			l := v
			l.EventID, l.Action = "late"+v.EventID, event.Like
			l.EventTime += 31 * 60000
			if !engaged[v.EventID] {
				lines = append(lines, string(l.AppendJSON(nil)))
			}
		}
	}
	return lines, engaged
}

// auc is the Mann–Whitney AUC with ties counted half.
func auc(preds []learn.Prediction) float64 {
	sort.Slice(preds, func(i, j int) bool { return preds[i].Prediction < preds[j].Prediction })
	var pos, neg, rankSum float64
	for i := 0; i < len(preds); {
		j := i
		for j < len(preds) && preds[j].Prediction == preds[i].Prediction {
			j++
		}
		mid := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if *preds[k].Label == 1 {
				pos++
				rankSum += mid
			} else {
				neg++
			}
		}
		i = j
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// A delayed-outcome model labels each view by whether an engagement
// followed within 30 minutes and learns the planted rule.
func TestEngagementLearnsPlantedRule(t *testing.T) {
	const n = 3000
	lines, engaged := engagementStream(n)
	dir := run(t, learn.Config{Models: parseSpecs(t, engagementSpec), Batch: 5 * time.Minute}, lines)

	var preds, served []learn.Prediction
	for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
		switch p.Stage {
		case learn.StageProgressive:
			preds = append(preds, p)
		case learn.StageServing:
			if p.Label != nil {
				t.Errorf("serving row %s has a label", p.EventID)
			}
			served = append(served, p)
		}
	}
	if len(preds) != n || len(served) != n {
		t.Fatalf("%d progressive and %d serving predictions, want one each per view: %d", len(preds), len(served), n)
	}
	version := map[string]int64{}
	for _, p := range served {
		version[p.EventID] = p.Version
	}
	for _, p := range preds {
		if want := engaged[p.EventID]; (*p.Label == 1) != want {
			t.Errorf("view %s labelled %v, engaged %v", p.EventID, *p.Label, want)
		}
		// Scored on arrival, learned from at least the outcome window later.
		if v, ok := version[p.EventID]; !ok || v > p.Version {
			t.Errorf("view %s served at version %d (found %v), learned at %d", p.EventID, v, ok, p.Version)
		}
	}
	// The stream lasts 50 min with 20-minute snapshots: the last comes when
	// the input ends.
	snaps := readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots)
	last := latest(t, snaps, "engage", "global")
	if last.Examples != n || decode(t, last).Examples() != n {
		t.Errorf("last snapshot has %d examples, want %d", last.Examples, n)
	}
	// Its readable weights rank the planted region above the others.
	var top []struct {
		Feature string
		Weight  float64
	}
	if err := json.Unmarshal([]byte(last.Weights), &top); err != nil || len(top) == 0 {
		t.Fatalf("weights %q: %v", last.Weights, err)
	}
	region := map[string]float64{}
	for _, w := range top {
		if strings.HasPrefix(w.Feature, "region=") {
			region[w.Feature] = w.Weight
		}
	}
	for _, r := range []string{"south", "east", "west"} {
		if w, ok := region["region="+r]; !ok || w >= region["region=north"] {
			t.Errorf("weight of region=%s %v (listed %v) not below region=north's %v: %s", r, w, ok, region["region=north"], last.Weights)
		}
	}
	a := auc(preds)
	t.Logf("progressive AUC from the predictions table: %.4f over %d views, %d engaged", a, n, len(engaged))
	if a < 0.75 {
		t.Errorf("progressive AUC %.4f, want > 0.75 (the rule alone gives about 0.85)", a)
	}
	// The serving scores, joined with the eventual labels.
	label := map[string]*float64{}
	for _, p := range preds {
		label[p.EventID] = p.Label
	}
	// Outcomes come up to 30 minutes late, so the first views are served
	// by an untrained model: judge those served after 300 outcomes.
	var warm []learn.Prediction
	for _, p := range served {
		if p.Version >= 300 {
			p.Label = label[p.EventID]
			warm = append(warm, p)
		}
	}
	sa := auc(warm)
	t.Logf("serving AUC (scored on arrival, model trained on >= 300 outcomes): %.4f over %d views", sa, len(warm))
	if len(warm) < n/3 || sa < 0.75 {
		t.Errorf("serving AUC %.4f over %d views, want > 0.75 over at least %d", sa, len(warm), n/3)
	}
}

// Replaying the same input, even in reverse arrival order, gives
// bit-identical snapshots and predictions: the trainer orders by event
// time and event_id, and outcome labels are stamped by event time only.
func TestReplayIsIdentical(t *testing.T) {
	eng, _ := engagementStream(800)
	lin, _ := linearStream(300)
	lines := append(eng, lin...)
	ms := parseSpecs(t, engagementSpec[:len(engagementSpec)-1]+","+rlsSpec[1:])
	var snaps, preds [2][]string
	for i := range 2 {
		if i == 1 {
			slices.Reverse(lines)
		}
		dir := run(t, learn.Config{Models: ms, Batch: time.Minute}, lines)
		for _, s := range readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots) {
			b, _ := json.Marshal(s)
			snaps[i] = append(snaps[i], string(b))
		}
		sort.Strings(snaps[i])
		for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
			b, _ := json.Marshal(p)
			preds[i] = append(preds[i], string(b))
		}
		sort.Strings(preds[i])
	}
	if len(snaps[0]) < 2 {
		t.Fatalf("only %d snapshots", len(snaps[0]))
	}
	if !slices.Equal(snaps[0], snaps[1]) {
		t.Errorf("snapshots differ between replays: %d vs %d rows", len(snaps[0]), len(snaps[1]))
	}
	// 800 + 300 views served and learned by the engagement model, 300
	// purchases for RLS.
	if len(preds[0]) != 2500 || !slices.Equal(preds[0], preds[1]) {
		t.Errorf("predictions differ between replays or are not 2500: %d vs %d rows", len(preds[0]), len(preds[1]))
	}
}

func TestSpecErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models.json")
	if err := os.WriteFile(path, []byte(`{"models":[{"name":"m","kind":"logistic","key":"session","label":"label"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := learn.LoadSpecs(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `(m) key: "session"`) {
		t.Errorf("LoadSpecs error %v, want the path and the key field", err)
	}
	_, s := beam.NewPipelineWithRoot()
	if _, err := learn.Build(s, learn.Config{}, beam.PCollection{}); err == nil {
		t.Error("Build without models succeeded")
	}
	if ms, err := learn.LoadSpecs(""); err != nil || len(ms) < 3 {
		t.Errorf("default models: %d, %v", len(ms), err)
	}
}

// Variants train side by side under their own variant column; the one
// that never forgets equals the direct run, the forgetting one differs.
func TestVariants(t *testing.T) {
	const n = 300
	lines, _ := linearStream(n)
	ms := parseSpecs(t, strings.Replace(rlsSpec, `"snapshot":"1m"`, `"snapshot":"1m","variants":[{"name":"keep","lambda":1},{"name":"forget","lambda":0.9}]`, 1))
	dir := run(t, learn.Config{Models: ms, Batch: time.Minute}, lines)
	final := map[string]learn.ModelSnapshot{}
	for _, s := range readRows[learn.ModelSnapshot](t, dir, learn.TableModelSnapshots) {
		if s.Version > final[s.Variant].Version {
			final[s.Variant] = s
		}
	}
	keep, forget := final["keep"], final["forget"]
	if len(final) != 2 || keep.Examples != n || forget.Examples != n || keep.Model != "spend" {
		t.Fatalf("final snapshots by variant: %d, keep %d examples, forget %d", len(final), keep.Examples, forget.Examples)
	}
	if keep.State == forget.State {
		t.Error("variants with different lambda have equal states")
	}
	if l := decode(t, forget).(*rls.Filter); l.Config().Lambda != 0.9 {
		t.Errorf("forget variant has lambda %v", l.Config().Lambda)
	}
	perVariant := map[string]int{}
	for _, p := range readRows[learn.Prediction](t, dir, learn.TablePredictions) {
		perVariant[p.Variant]++
	}
	if perVariant["keep"] != n || perVariant["forget"] != n {
		t.Errorf("predictions per variant %v, want %d each", perVariant, n)
	}
}
