// Package learn trains the declared models (transforms/spec) online, in
// event time, with Flink-safe state.
//
// Labelled examples are keyed by (model, key value), grouped into short
// fixed event-time windows (the batch) by a GroupByKey, which moves them
// in bulk, then re-windowed into the global window for a stateful DoFn.
// Per key it holds the learner's snapshot in Value state and the batches
// not yet trained in a Bag; an event-time timer per batch (one family,
// tagged by window) trains every waiting batch whose window the watermark
// has passed, oldest first; a last timer at the end of the global window
// writes a final snapshot when the input ends. A batch's examples are
// sorted by (event time, event_id), so replaying a file gives
// bit-identical models. The learner is encoded once per timer firing, not
// per event, and decoded only when the state holds other bytes than the
// ones this DoFn instance last wrote (trainerCache).
package learn

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/drift"
	"github.com/pulse-analytics/pulse/models/linreg"
	"github.com/pulse-analytics/pulse/models/logreg"
	"github.com/pulse-analytics/pulse/models/metric"
	"github.com/pulse-analytics/pulse/models/ols"
	"github.com/pulse-analytics/pulse/models/rls"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
	_ "github.com/pulse-analytics/pulse/transforms/parse" // event.Event coder
	"github.com/pulse-analytics/pulse/transforms/parts"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

// DefaultBatch is the batch window Train uses when given none.
const DefaultBatch = time.Minute

// TopWeights is how many weights a Snapshot row lists.
const TopWeights = 20

// Counters in the "pulse" namespace.
const (
	CounterExamples = "learn_examples"
	CounterBatches  = "learn_batches"
)

// finalTag tags the timer at the end of the global window, which writes a
// last snapshot when the input ends.
const finalTag = "final"

// ScopeModel is the alerts.Row scope of a drift alert; its Key is
// "model/key" (model:variant for a variant) and its Metric "drift:" plus
// the loss.
const ScopeModel = "model"

func init() {
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, string, []byte)](&routeFn{})
	register.DoFn4x1[beam.Window, string, func(*[]byte) bool, func(string, []byte), error](&batchFn{})
	register.DoFn10x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte,
		func(Prediction), func(Metrics), func(Snapshot), func(alerts.Row), error](&trainFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.Iter1[[]byte]()
	register.Emitter2[string, []byte]()
	register.Emitter1[Prediction]()
	register.Emitter1[Metrics]()
	register.Emitter1[Snapshot]()
	register.Emitter1[alerts.Row]()
}

// Key joins a model id (spec.Model.ID) and a key value into the trainer's
// key.
func Key(model, value string) string { return model + "\x00" + value }

func splitKey(k string) (model, value string) {
	model, value, _ = strings.Cut(k, "\x00")
	return
}

// Route returns the examples of models in events (its parts: see package
// parts), grouped by Key(model, key value)
// and by batch window, as KV<string, partial batch>: the examples a bundle
// routed to one key and one batch window, one element (see partialBatch).
// Immediate-label models take the events that carry their label, with
// Label and HasLabel set to it. Engagement models take each view of events
// twice: unlabelled (HasLabel false) to be scored on arrival, and from
// labelled, the output of outcome.Label (its parts), with its outcome to be
// learned from; labelled is empty when no model is delayed.
// batch is Config.Batch (zero means DefaultBatch).
//
// Grouping a bundle's examples before they leave it is combiner lifting by
// hand: on prism each element that crosses a stage boundary (the Flatten
// below is one, the GroupByKey of Train another) costs the runner far more
// than the work of learning it, and there are about three examples per
// event; a partial batch crosses once for hundreds of them. Every partial
// batch holds the examples of one window, so the GroupByKey drops it as
// late data exactly when it would have dropped each of them.
func Route(s beam.Scope, ms []spec.Model, batch time.Duration, events, labelled []beam.PCollection) beam.PCollection {
	s = s.Scope("Route")
	out := route(s, ms, batch, events, labelled)
	if len(out) == 1 {
		return out[0]
	}
	return beam.Flatten(s, out...)
}

// RouteParts is Route without the final Flatten: the routed examples of
// each part of events and of labelled, for Train to window each before
// flattening them (on prism a WindowInto after a Flatten is a stage of
// its own that carries every element again).
func RouteParts(s beam.Scope, ms []spec.Model, batch time.Duration, events, labelled []beam.PCollection) []beam.PCollection {
	return route(s.Scope("Route"), ms, batch, events, labelled)
}

func route(s beam.Scope, ms []spec.Model, batch time.Duration, events, labelled []beam.PCollection) []beam.PCollection {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var out []beam.PCollection
	parts.Each(s, events, func(s beam.Scope, events beam.PCollection) {
		out = append(out, beam.ParDo(s, &routeFn{Models: ms, Batch: batch.Milliseconds()}, events))
	})
	if len(labelled) > 0 {
		// A scope of its own names the second routeFn readably and stably
		// (Dataflow --update), instead of an order-dependent routeFn'1.
		parts.Each(s.Scope("Outcomes"), labelled, func(s beam.Scope, labelled beam.PCollection) {
			out = append(out, beam.ParDo(s, &routeFn{Models: ms, Outcomes: true, Batch: batch.Milliseconds()}, labelled))
		})
	}
	return out
}

// Bounds of what routeFn holds before emitting: a partial batch is
// emitted when its events reach maxPartialBytes, and every one when the
// bundle's reach maxBundleBytes, so memory stays bounded on any bundle.
const (
	maxPartialBytes = 1 << 20
	maxBundleBytes  = 16 << 20
)

// routeFn emits each event once per model that sees it. On the outcome
// stream (Outcomes) only engagement models take events, with the outcome
// as label; on the raw stream they take the view unlabelled, so that a
// label field of the source is never mistaken for the outcome. It groups
// a bundle's examples per key and Batch window (Unix ms) into partial
// batches, emitted at the end of the bundle (or when large) with the
// earliest timestamp of their examples.
type routeFn struct {
	Models   []spec.Model `json:"models"`
	Outcomes bool         `json:"outcomes"`
	Batch    int64        `json:"batch"`

	fzs   []*spec.Featurizer // per model: examples travel trimmed (Featurizer.Trim)
	parts map[partKey]*partial
	size  int
}

type partKey struct {
	key   string
	start int64
}

// partial is a partial batch being built: its earliest example timestamp,
// example count, and examples, each its binary form length-prefixed.
type partial struct {
	min  mtime.Time
	n    uint64
	body []byte
}

func (fn *routeFn) Setup() error {
	fn.fzs = make([]*spec.Featurizer, len(fn.Models))
	for i := range fn.Models {
		if err := fn.Models[i].Validate(); err != nil { // restores derived fields
			return err
		}
		fz, err := fn.Models[i].Featurizer()
		if err != nil {
			return err
		}
		fn.fzs[i] = fz
	}
	if fn.Batch <= 0 {
		fn.Batch = DefaultBatch.Milliseconds()
	}
	return nil
}

// StartBundle drops what a failed bundle left: the runner retries its
// elements.
func (fn *routeFn) StartBundle(_ func(beam.EventTime, string, []byte)) {
	fn.parts, fn.size = map[partKey]*partial{}, 0
}

func (fn *routeFn) ProcessElement(ts beam.EventTime, ev event.Event, emit func(beam.EventTime, string, []byte)) {
	e := &ev
	for i := range fn.Models {
		m := &fn.Models[i]
		if !m.Sees(e.Action) {
			continue
		}
		key := Key(m.ID(), m.KeyOf(e))
		if m.Sharded() {
			key = ShardKey(m.ID(), m.KeyOf(e), ShardOf(e.EventID, m.ShardCount()))
		}
		switch {
		case m.Delayed() && fn.Outcomes:
			ex := fn.fzs[i].Trim(e)
			fn.add(ts, key, &ex, emit)
			continue
		case m.Delayed():
			serve := fn.fzs[i].Trim(e)
			serve.Label, serve.HasLabel = 0, false
			fn.add(ts, key, &serve, emit)
			continue
		case fn.Outcomes:
			continue
		}
		y, ok := m.LabelOf(e)
		if !ok || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		if m.Kind == spec.Logistic && y != 0 && y != 1 {
			continue
		}
		ex := fn.fzs[i].Trim(e)
		ex.Label, ex.HasLabel = y, true
		fn.add(ts, key, &ex, emit)
	}
}

// add appends an example to its key's partial batch of ts's window.
func (fn *routeFn) add(ts beam.EventTime, key string, e *event.Event, emit func(beam.EventTime, string, []byte)) {
	t := int64(ts)
	pk := partKey{key: key, start: t - ((t%fn.Batch)+fn.Batch)%fn.Batch}
	p := fn.parts[pk]
	if p == nil {
		p = &partial{min: mtime.Time(ts)}
		fn.parts[pk] = p
	}
	p.min = min(p.min, mtime.Time(ts))
	before := len(p.body)
	p.body = e.AppendFramed(p.body)
	p.n++
	fn.size += len(p.body) - before
	if len(p.body) >= maxPartialBytes {
		fn.emitPart(pk, p, emit)
	}
	if fn.size >= maxBundleBytes {
		fn.flush(emit)
	}
}

func (fn *routeFn) emitPart(pk partKey, p *partial, emit func(beam.EventTime, string, []byte)) {
	emit(beam.EventTime(p.min), pk.key, append(binary.AppendUvarint(nil, p.n), p.body...))
	fn.size -= len(p.body)
	delete(fn.parts, pk)
}

func (fn *routeFn) flush(emit func(beam.EventTime, string, []byte)) {
	keys := make([]partKey, 0, len(fn.parts))
	for pk := range fn.parts {
		keys = append(keys, pk)
	}
	// In a fixed order, so that a bundle's output does not depend on map
	// iteration.
	slices.SortFunc(keys, func(a, b partKey) int { return cmp.Or(cmp.Compare(a.start, b.start), strings.Compare(a.key, b.key)) })
	for _, pk := range keys {
		fn.emitPart(pk, fn.parts[pk], emit)
	}
}

// FinishBundle emits the partial batches still held. Its outputs go to
// the global window, which is the input's: Route takes globally windowed
// events.
func (fn *routeFn) FinishBundle(emit func(beam.EventTime, string, []byte)) {
	fn.flush(emit)
}

// Config configures Train.
type Config struct {
	Models []spec.Model
	// Batch is the event-time window examples are grouped and trained
	// in; zero means DefaultBatch.
	Batch time.Duration
	// Lateness is how far behind the watermark an example may arrive and
	// still be trained on (in a late pane of its batch); on a stream, the
	// late guard's allowed lateness, so that nothing it lets through is
	// dropped here.
	Lateness time.Duration
	// Bounded says the examples end (a file replay): the unsharded
	// trainers and the sharded models' scorers then fire once per key,
	// when the input ends, instead of once per batch. Their rows are the
	// same; a trainer's firing encodes and writes the key's whole model,
	// and a scorer's firings take turns with the merged models' arrivals.
	// A stream must leave it false: its rows would wait for the end.
	Bounded bool
	// Parts is how many parts (package parts) the trainers and scorers
	// run in: the unsharded trainers split by key hash, the sharded
	// models' shard trainers and scorers by shard modulo Parts. On prism
	// a part is a stage, and stages run at once. Zero means one.
	Parts int
}

// Outputs are Train's tables.
type Outputs struct {
	// Predictions come in parts (package parts): on a bounded run the
	// unsharded trainers' and the scorers', so that each is written in
	// the stage that makes it rather than flattened first; else one.
	Predictions                []beam.PCollection
	Metrics, Snapshots, Alerts beam.PCollection
}

// Train trains on examples, Route's output with the same cfg.Batch, or
// RouteParts'.
func Train(s beam.Scope, cfg Config, examples ...beam.PCollection) Outputs {
	s = s.Scope("Train")
	batch := cfg.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	into := func(s beam.Scope, examples beam.PCollection) beam.PCollection {
		// Named scopes keep transform names stable (Dataflow --update).
		return beam.WindowInto(s.Scope("IntoBatches"), window.NewFixedWindows(batch), examples, beam.AllowedLateness(cfg.Lateness))
	}
	var windowed beam.PCollection
	if len(examples) == 1 {
		windowed = into(s, examples[0])
	} else {
		windowed = parts.Apply(s.Scope("Examples"), examples, into)
	}
	grouped := beam.GroupByKey(s, windowed)
	batches := beam.ParDo(s, &batchFn{}, grouped)
	global := beam.WindowInto(s.Scope("IntoGlobal"), window.NewGlobalWindows(), batches)
	var sharded []string // model ids
	for _, m := range cfg.Models {
		if m.Sharded() {
			sharded = append(sharded, m.ID())
		}
	}
	n := max(cfg.Parts, 1)
	// trainers adds the unsharded models' trainers on batches, in parts.
	var preds, metrics, snaps, alertRows []beam.PCollection
	trainers := func(batches beam.PCollection) {
		ins := parts.ByKey(s.Scope("TrainerParts"), n, false, batches)
		for i, in := range ins {
			ps := s
			if n > 1 {
				ps = s.Scope(fmt.Sprintf("Part%d", i))
			}
			p, m, sn, a := beam.ParDo4(ps, newTrainFn(cfg.Models, cfg.Bounded), in)
			preds, metrics, snaps, alertRows = append(preds, p), append(metrics, m), append(snaps, sn), append(alertRows, a)
		}
	}
	if len(sharded) == 0 {
		trainers(global)
	} else {
		plain, train, score := beam.ParDo3(s, &splitFn{Sharded: sharded}, global)
		trainers(plain)
		p, m, sn, a := shardedModels(s.Scope("Sharded"), cfg, n, train, score)
		preds, metrics, snaps, alertRows = append(preds, p...), append(metrics, m), append(snaps, sn), append(alertRows, a)
	}
	if !cfg.Bounded {
		preds = []beam.PCollection{flatten(s.Scope("Predictions"), preds)}
	}
	return Outputs{
		Predictions: preds,
		Metrics:     flatten(s.Scope("Metrics"), metrics),
		Snapshots:   flatten(s.Scope("Snapshots"), snaps),
		Alerts:      flatten(s.Scope("Alerts"), alertRows),
	}
}

// flatten returns the one of pcs, or their Flatten.
func flatten(s beam.Scope, pcs []beam.PCollection) beam.PCollection {
	if len(pcs) == 1 {
		return pcs[0]
	}
	return beam.Flatten(s, pcs...)
}

// shardedModels adds the shard trainers, merger and scorers of the
// sharded models, in n parts by shard, and returns the scorers'
// predictions (a part each) and the merger's metrics, snapshots and
// alerts.
func shardedModels(ss beam.Scope, cfg Config, n int, train, score beam.PCollection) (preds []beam.PCollection, metrics, snaps, alertRows beam.PCollection) {
	var models []spec.Model
	for _, m := range cfg.Models {
		if m.Sharded() {
			models = append(models, m)
		}
	}
	trains, scores := parts.ByKey(ss.Scope("TrainParts"), n, true, train), parts.ByKey(ss.Scope("ScoreParts"), n, true, score)
	replicas := parts.Apply(ss.Scope("Shards"), trains, func(s beam.Scope, in beam.PCollection) beam.PCollection {
		return beam.ParDo(s, newShardFn(models), in)
	})
	merged, metrics, snaps, alertRows := beam.ParDo4(ss.Scope("Merge"), newMergeFn(models), replicas)
	published := parts.ByKey(ss.Scope("ModelParts"), n, true, merged)
	for i := range n {
		ps := ss
		if n > 1 {
			ps = ss.Scope(fmt.Sprintf("Part%d", i))
		}
		// Every Flatten in its own scope: the SDK would name a scope's
		// second Flatten "Flatten'1", a name that changes when one is
		// added above.
		in := beam.Flatten(ps.Scope("ScoreInput"), scores[i], published[i])
		preds = append(preds, beam.ParDo(ps.Scope("Score"), newScoreFn(models, cfg.Bounded), in))
	}
	return preds, metrics, snaps, alertRows
}

// CheckBatch returns an error naming the model when a sharded model's
// merge interval is not a whole number of batches (a batch must not span
// two merge intervals).
func CheckBatch(ms []spec.Model, batch time.Duration) error {
	if batch <= 0 {
		batch = DefaultBatch
	}
	for i := range ms {
		if m := &ms[i]; m.Sharded() && m.MergeEvery()%batch != 0 {
			return fmt.Errorf("(%s) merge: %v is not a multiple of the %v batch", m.ID(), m.MergeEvery(), batch)
		}
	}
	return nil
}

// batchFn joins a window's partial batches (routeFn) into one batch:
// start and end (Unix ms, varint), the event count (uvarint), then each
// event's binary form, length-prefixed.
type batchFn struct{}

func (fn *batchFn) ProcessElement(w beam.Window, key string, iter func(*[]byte) bool, emit func(string, []byte)) error {
	iw := w.(window.IntervalWindow)
	var parts [][]byte
	var n uint64
	size := 0
	var p []byte
	for iter(&p) {
		c, k := binary.Uvarint(p)
		if k <= 0 {
			return fmt.Errorf("learn: partial batch for %q: corrupt count", key)
		}
		n += c
		parts = append(parts, p[k:])
		size += len(p) - k
	}
	b := make([]byte, 0, 3*binary.MaxVarintLen64+size)
	b = binary.AppendVarint(b, int64(iw.Start))
	b = binary.AppendVarint(b, int64(iw.End))
	b = binary.AppendUvarint(b, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	emit(key, b)
	return nil
}

type batch struct {
	start, end int64
	events     []event.Event
}

func decodeBatch(b []byte) (batch, error) {
	var out batch
	r := bytes.NewReader(b)
	var err error
	if out.start, err = binary.ReadVarint(r); err != nil {
		return out, fmt.Errorf("learn: batch header: %w", err)
	}
	if out.end, err = binary.ReadVarint(r); err != nil {
		return out, fmt.Errorf("learn: batch header: %w", err)
	}
	count, err := binary.ReadUvarint(r)
	if err != nil || count > uint64(r.Len()) {
		return out, fmt.Errorf("learn: batch header: corrupt count")
	}
	rest := b[len(b)-r.Len():]
	for range count {
		var enc []byte
		if enc, rest, err = event.NextFramed(rest); err != nil {
			return out, fmt.Errorf("learn: batch event length: %w", err)
		}
		var e event.Event
		if err := e.UnmarshalBinary(enc); err != nil {
			return out, fmt.Errorf("learn: batch event: %w", err)
		}
		out.events = append(out.events, e)
	}
	if len(rest) != 0 {
		return out, fmt.Errorf("learn: batch: %d trailing bytes", len(rest))
	}
	return out, nil
}

// trainFn is the per-(model, key) trainer. Model holds the trainer state
// (learner, drift detector, last snapshot time); Pending and PendingIndex
// the batches the watermark has not passed (a pending.Queue); Train is
// the only timer family (two hang on prism): one timer per batch, tagged
// with the batch's timestamp, and the final one (only that when Bounded).
type trainFn struct {
	Models  []spec.Model `json:"models"`
	Bounded bool         `json:"bounded"` // Config.Bounded

	Model        state.Value[[]byte]
	Pending      state.Bag[[]byte]
	PendingIndex state.Value[[]byte]
	Train        timers.EventTime

	specs       map[string]*spec.Model
	featurizers map[string]*spec.Featurizer
	cache       trainerCache
	queue       pending.Queue
	examples    int64
	batches     int64
}

func newTrainFn(ms []spec.Model, bounded bool) *trainFn {
	p := pending.Make("pending")
	return &trainFn{
		Models:       ms,
		Bounded:      bounded,
		Model:        state.MakeValueState[[]byte]("model"),
		Pending:      p.Entries,
		PendingIndex: p.Index,
		Train:        timers.InEventTime("train"),
	}
}

func (fn *trainFn) Setup() error {
	var err error
	fn.specs, fn.featurizers, err = specsOf(fn.Models)
	return err
}

func (fn *trainFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, b []byte,
	_ func(Prediction), _ func(Metrics), _ func(Snapshot), _ func(alerts.Row)) error {
	if err := addBatch(&fn.queue, sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, b); err != nil {
		return err
	}
	if !fn.Bounded {
		fn.Train.Set(tp, ts.ToTime(), timers.WithTag(strconv.FormatInt(int64(ts), 10)))
	}
	// Fires only when the input ends (a bounded run, or a drain).
	fn.Train.Set(tp, mtime.EndOfGlobalWindowTime.ToTime(), timers.WithTag(finalTag))
	return nil
}

// OnTimer trains, oldest first, every pending batch that ends by the
// firing time.
func (fn *trainFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, tc timers.Context,
	emitPred func(Prediction), emitMetrics func(Metrics), emitSnap func(Snapshot), emitAlert func(alerts.Row)) error {
	ready, err := takeBatches(&fn.queue, sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, ts)
	if err != nil {
		return err
	}
	final := tc.Tag == finalTag
	if len(ready) == 0 && !final {
		return nil
	}

	id, value := splitKey(key)
	m, ok := fn.specs[id]
	if !ok {
		return fmt.Errorf("learn: no spec for model %q", id)
	}
	st, _, err := fn.Model.Read(sp)
	if err != nil {
		return err
	}
	if len(st) == 0 && len(ready) == 0 {
		return nil
	}
	t, err := fn.cache.take(m, key, st)
	if err != nil {
		return fmt.Errorf("learn: model %s key %q: %w", id, value, err)
	}
	fz := fn.featurizers[id]
	logistic := m.Kind == spec.Logistic
	for _, bt := range ready {
		// A view scored on arrival sorts before its labelled copy.
		slices.SortFunc(bt.events, func(a, b event.Event) int {
			return cmp.Or(cmp.Compare(a.EventTime, b.EventTime), strings.Compare(a.EventID, b.EventID), cmpBool(a.HasLabel, b.HasLabel))
		})
		var lossSum float64
		var n int64
		drifted := false
		for i := range bt.events {
			e := &bt.events[i]
			x := fz.Vector(e)
			version := t.l.Examples()
			if !e.HasLabel {
				emitPred(Prediction{
					EventID: e.EventID, EventTime: rfc3339(e.EventTime), Model: m.Name, Variant: m.Variant, Key: value,
					Stage: StageServing, Version: version, Prediction: t.l.Predict(x),
				})
				continue
			}
			n++
			t.name(fz, e)
			p := t.l.PredictLearn(x, e.Label)
			loss := math.Abs(e.Label - p)
			if logistic {
				loss = metric.Loss(e.Label, p)
			}
			lossSum += loss
			if t.ph.Update(loss) {
				drifted = true
			}
			emitPred(Prediction{
				EventID: e.EventID, EventTime: rfc3339(e.EventTime), Model: m.Name, Variant: m.Variant, Key: value,
				Stage: StageProgressive, Version: version, Prediction: p, Label: &e.Label,
			})
		}
		fn.examples += n
		fn.batches++
		row := Metrics{
			WindowStart: rfc3339(bt.start), WindowEnd: rfc3339(bt.end), Model: m.Name, Variant: m.Variant, Key: value,
			Examples: t.l.Examples(), BatchExamples: n, BatchLoss: lossSum / float64(max(n, 1)), Drift: drifted,
		}
		if n == 0 {
			continue // only scored views: nothing learned, nothing to report
		}
		fillMetrics(&row, t.l.Metrics())
		emitMetrics(row)
		if drifted {
			lossName := "abs_error"
			if logistic {
				lossName = "log_loss"
			}
			emitAlert(alerts.Row{
				WindowEnd: rfc3339(bt.end), Scope: ScopeModel, Key: id + "/" + value, Metric: "drift:" + lossName,
				Value: row.BatchLoss, Baseline: progressiveLoss(t.l.Metrics()), Severity: alerts.Warning,
			})
		}
		t.lastEnd = bt.end
		every := m.SnapshotEvery().Milliseconds()
		if t.lastSnap == 0 || bt.end/every != t.lastSnap/every {
			t.lastSnap, t.lastVersion = bt.end, t.l.Examples()
			snap, err := snapshotRow(t.l, t.names, bt.end, m, value)
			if err != nil {
				return err
			}
			emitSnap(snap)
		}
	}
	if final && t.l.Examples() > t.lastVersion {
		// The last state, stamped with the end of its last batch.
		t.lastSnap, t.lastVersion = t.lastEnd, t.l.Examples()
		snap, err := snapshotRow(t.l, t.names, t.lastEnd, m, value)
		if err != nil {
			return err
		}
		emitSnap(snap)
	}
	enc, err := t.encode()
	if err != nil {
		return err
	}
	if err := fn.Model.Write(sp, enc); err != nil {
		return err
	}
	fn.cache.put(key, enc, t)
	return nil
}

func (fn *trainFn) FinishBundle(ctx context.Context, _ func(Prediction), _ func(Metrics), _ func(Snapshot), _ func(alerts.Row)) {
	counter.Flush(ctx, CounterExamples, &fn.examples)
	counter.Flush(ctx, CounterBatches, &fn.batches)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func ptr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func fillMetrics(row *Metrics, s *metric.Set) {
	for _, v := range s.Values() {
		switch v.Name {
		case "logloss":
			row.LogLoss = ptr(v.Value)
		case "accuracy":
			row.Accuracy = ptr(v.Value)
		case "auc":
			row.AUC = ptr(v.Value)
		case "mae":
			row.MAE = ptr(v.Value)
		case "rmse":
			row.RMSE = ptr(v.Value)
		case "r2":
			row.R2 = ptr(v.Value)
		}
	}
}

func progressiveLoss(s *metric.Set) float64 {
	if s.Task() == metric.Classification {
		return s.LogLoss.Value()
	}
	return s.MAE.Value()
}

// trainer is a key's decoded state.
type trainer struct {
	l           models.Learner
	ph          *drift.PageHinkley
	lastSnap    int64 // end of the window of the last snapshot, Unix ms
	lastVersion int64 // examples at the last snapshot
	lastEnd     int64 // end of the last trained window, Unix ms
	// names maps weight indices to the first-order feature keys seen
	// there (the smallest key on a collision), for readable snapshots;
	// at most MaxNames, the first seen.
	names map[uint32]string
}

// MaxNames bounds the feature names a trainer remembers per key.
const MaxNames = 4096

func (t *trainer) name(fz *spec.Featurizer, e *event.Event) {
	fz.Names(e, func(idx uint32, k string) {
		old, ok := t.names[idx]
		switch {
		case !ok && len(t.names) < MaxNames:
			t.names[idx] = k
		case ok && k < old:
			t.names[idx] = k
		}
	})
}

// decodeTrainer restores the state written by encode, or starts afresh
// when st is empty. Layout: uvarint length + learner snapshot, uvarint
// length + Page-Hinkley snapshot, varints lastSnap, lastVersion, lastEnd,
// then the names: uvarint count, each uvarint index + uvarint length + key.
func decodeTrainer(m *spec.Model, st []byte) (*trainer, error) {
	t := &trainer{names: map[uint32]string{}}
	if len(st) == 0 {
		l, err := m.NewLearner()
		if err != nil {
			return nil, err
		}
		ph, err := drift.NewPageHinkley(drift.DefaultPageHinkley)
		if err != nil {
			return nil, err
		}
		t.l, t.ph = l, ph
		return t, nil
	}
	r := bytes.NewReader(st)
	part := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return nil, fmt.Errorf("trainer state: corrupt")
		}
		b := make([]byte, n)
		r.Read(b)
		return b, nil
	}
	lb, err := part()
	if err != nil {
		return nil, err
	}
	if t.l, err = models.Unmarshal(lb); err != nil {
		return nil, err
	}
	pb, err := part()
	if err != nil {
		return nil, err
	}
	t.ph = new(drift.PageHinkley)
	if err := t.ph.UnmarshalBinary(pb); err != nil {
		return nil, err
	}
	for _, v := range []*int64{&t.lastSnap, &t.lastVersion, &t.lastEnd} {
		if *v, err = binary.ReadVarint(r); err != nil {
			return nil, fmt.Errorf("trainer state: %w", err)
		}
	}
	count, err := binary.ReadUvarint(r)
	if err != nil || count > MaxNames {
		return nil, fmt.Errorf("trainer state: corrupt names")
	}
	for range count {
		idx, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, fmt.Errorf("trainer state: corrupt names")
		}
		k, err := part()
		if err != nil {
			return nil, err
		}
		t.names[uint32(idx)] = string(k)
	}
	return t, nil
}

func (t *trainer) encode() ([]byte, error) {
	lb, err := t.l.MarshalBinary()
	if err != nil {
		return nil, err
	}
	pb, err := t.ph.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(lb)+len(pb)+24)
	b = binary.AppendUvarint(b, uint64(len(lb)))
	b = append(b, lb...)
	b = binary.AppendUvarint(b, uint64(len(pb)))
	b = append(b, pb...)
	b = binary.AppendVarint(b, t.lastSnap)
	b = binary.AppendVarint(b, t.lastVersion)
	b = binary.AppendVarint(b, t.lastEnd)
	// Sorted, so that equal trainers encode to equal bytes.
	idx := make([]uint32, 0, len(t.names))
	for i := range t.names {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	b = binary.AppendUvarint(b, uint64(len(idx)))
	for _, i := range idx {
		b = binary.AppendUvarint(b, uint64(i))
		b = binary.AppendUvarint(b, uint64(len(t.names[i])))
		b = append(b, t.names[i]...)
	}
	return b, nil
}

// Weights returns a learner's weight vector.
func Weights(l models.Learner) []float64 {
	switch l := l.(type) {
	case *logreg.FTRL:
		w := make([]float64, l.Config().Dim)
		for i := range w {
			w[i] = l.Weight(i)
		}
		return w
	case *logreg.Classifier:
		return l.Weights()
	case *linreg.Regressor:
		return l.Weights()
	case *rls.Filter:
		return l.Weights()
	case *ols.Regressor:
		w, _ := l.Solve() // on failure the last solution
		return w
	}
	return nil
}

// Weight is one entry of Snapshot.Weights.
type Weight struct {
	Feature string  `json:"feature"`
	Index   int     `json:"index"`
	Weight  float64 `json:"weight"`
}

func snapshotRow(l models.Learner, names map[uint32]string, end int64, m *spec.Model, key string) (Snapshot, error) {
	st, err := l.MarshalBinary()
	if err != nil {
		return Snapshot{}, err
	}
	var top []Weight
	for i, w := range Weights(l) {
		if w != 0 {
			top = append(top, Weight{Index: i, Weight: w})
		}
	}
	slices.SortFunc(top, func(a, b Weight) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Weight), math.Abs(a.Weight)), cmp.Compare(a.Index, b.Index))
	})
	top = top[:min(len(top), TopWeights)]
	for i := range top {
		if n, ok := names[uint32(top[i].Index)]; ok {
			top[i].Feature = n
		} else {
			top[i].Feature = "#" + strconv.Itoa(top[i].Index)
		}
	}
	wj, err := json.Marshal(top)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{
		SnapshotTime: rfc3339(end), Model: m.Name, Variant: m.Variant, Key: key, Version: l.Examples(), Examples: l.Examples(),
		Encoding: EncodingPLSM, State: base64.StdEncoding.EncodeToString(st), Weights: string(wj),
	}, nil
}
