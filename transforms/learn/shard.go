package learn

// Sharded global models (spec shards > 1).
//
// A Beam pipeline is acyclic, so a merged model cannot flow back into the
// DoFn whose output it was merged from. A sharded model is therefore three
// stateful DoFns in a line, each in the global window with one tagged
// event-time timer family:
//
//	batches ──► shardFn (key model/shard) ──► mergeFn (key model) ──► scoreFn (key model/shard) ◄── batches
//	            trains a replica              merges the replicas     scores with the last
//	            per shard, in event time      every interval          merged model
//
// shardFn trains its shard's replica on the shard's examples in event-time
// order and, at every merge boundary, sends the replica (cumulative: every
// example the shard has learned) to mergeFn. mergeFn folds the latest
// replica of every shard, in shard order, into the merged model, numbers it
// (version 1, 2, ...) and sends it to every shard's scoreFn, which scores
// the events of the next interval with it. The merged model of interval k
// thus serves interval k+1; version 0 is the untrained model of the first
// interval.
//
// Timing. A batch [start, end) has timestamp end−1; its shard's merge timer
// fires at the interval's end B (the boundary) and the replica is
// timestamped B; mergeFn's timer for B is set at B+1, after every replica
// of B; the merged model is timestamped B+1, and the first batch of the
// next interval fires its scoring timer at B+batch−1 > B+1, so the merged
// model is in scoreFn's state before the batches it serves are scored.
// Every step sorts (batches by start, events by time and event_id,
// replicas by shard), so replays are bit-identical.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/drift"
	"github.com/pulse-analytics/pulse/models/metric"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pending"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

func init() {
	register.DoFn5x0[string, []byte, func(string, []byte), func(string, []byte), func(string, []byte)](&splitFn{})
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte,
		func(string, []byte), error](&shardFn{})
	register.DoFn10x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte,
		func(string, []byte), func(Metrics), func(Snapshot), func(alerts.Row), error](&mergeFn{})
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, []byte,
		func(Prediction), error](&scoreFn{})
}

// Counters in the "pulse" namespace: merges of sharded models, and
// replicas sent after a batch of a later interval was trained (a merge
// timer that fired after a later batch's timer; the replica then holds
// examples of the next interval, and replays may differ).
const (
	CounterMerges     = "learn_merges"
	CounterLateMerges = "learn_late_replicas"
)

// ShardKey is the key of one shard of a sharded model: Key(model, value)
// followed by NUL and the shard number.
func ShardKey(model, value string, shard int) string {
	return Key(model, value) + "\x00" + strconv.Itoa(shard)
}

// splitShardKey returns the merge key and shard of a ShardKey.
func splitShardKey(k string) (mergeKey string, shard int, err error) {
	i := strings.LastIndexByte(k, 0)
	if i < 0 {
		return "", 0, fmt.Errorf("learn: %q is not a shard key", k)
	}
	shard, err = strconv.Atoi(k[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("learn: shard key %q: %w", k, err)
	}
	return k[:i], shard, nil
}

// ShardOf returns the shard of an event: FNV-1a of its event_id modulo n,
// so a view and its labelled copy land on the same shard, on every run.
func ShardOf(eventID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(eventID))
	return int(h.Sum32() % uint32(n))
}

// boundaryOf returns the merge boundary (Unix ms) closing the interval
// that holds a batch ending at end: the first multiple of every >= end.
func boundaryOf(end, every int64) int64 {
	b := end / every * every
	if b < end {
		b += every
	}
	return b
}

// Message prefixes of scoreFn's input.
const (
	msgBatch = 'b'
	msgModel = 'm'
)

// splitFn sends batches of unsharded models to the plain trainer and
// those of sharded models both to their shard trainer and, prefixed
// msgBatch, to their scorer.
type splitFn struct {
	Sharded []string `json:"sharded"` // model ids
}

func (fn *splitFn) ProcessElement(key string, b []byte, plain, train, score func(string, []byte)) {
	id, _ := splitKey(key)
	if !slices.Contains(fn.Sharded, id) {
		plain(key, b)
		return
	}
	train(key, b)
	score(key, append([]byte{msgBatch}, b...))
}

// batchSpan decodes a batch's start and end without its events.
func batchSpan(b []byte) (start, end int64, err error) {
	r := bytes.NewReader(b)
	if start, err = binary.ReadVarint(r); err == nil {
		end, err = binary.ReadVarint(r)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("learn: batch header: %w", err)
	}
	return start, end, nil
}

// specs validates ms and indexes them and their featurizers by id.
func specsOf(ms []spec.Model) (map[string]*spec.Model, map[string]*spec.Featurizer, error) {
	specs, fzs := map[string]*spec.Model{}, map[string]*spec.Featurizer{}
	for i := range ms {
		m := &ms[i]
		if err := m.Validate(); err != nil {
			return nil, nil, err
		}
		f, err := m.Featurizer()
		if err != nil {
			return nil, nil, err
		}
		specs[m.ID()], fzs[m.ID()] = m, f
	}
	return specs, fzs, nil
}

// addBatch queues a batch until the watermark passes it (end−1).
func addBatch(q *pending.Queue, sp state.Provider, st pending.State, key string, b []byte) error {
	_, end, err := batchSpan(b)
	if err != nil {
		return err
	}
	return q.Add(sp, st, key, end-1, b)
}

// takeBatches removes from the queue and decodes the batches the
// watermark has passed at ts (end−1 <= ts), sorted by start.
func takeBatches(q *pending.Queue, sp state.Provider, st pending.State, key string, ts beam.EventTime) ([]batch, error) {
	raws, _, err := q.Take(sp, st, key, int64(ts))
	if err != nil {
		return nil, err
	}
	ready := make([]batch, 0, len(raws))
	for _, r := range raws {
		bt, err := decodeBatch(r)
		if err != nil {
			return nil, err
		}
		ready = append(ready, bt)
	}
	slices.SortFunc(ready, func(a, b batch) int { return cmp.Compare(a.start, b.start) })
	return ready, nil
}

func sortEvents(es []event.Event) {
	// A view scored on arrival sorts before its labelled copy.
	slices.SortFunc(es, func(a, b event.Event) int {
		return cmp.Or(cmp.Compare(a.EventTime, b.EventTime), strings.Compare(a.EventID, b.EventID), cmpBool(a.HasLabel, b.HasLabel))
	})
}

// shardFn trains one shard's replica of a sharded model and sends it to
// the merger at every merge boundary: KV<Key(model, value), replica>,
// the replica being uvarint shard, varint boundary, then the trainer
// state (decodeTrainer). Its timer family is tagged "m" and the
// boundary: a firing trains the interval's batches, then sends. (Timers
// tagged with a batch's timestamp, set by releases before 2026-12-05,
// train without sending.)
type shardFn struct {
	Models []spec.Model `json:"models"`

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
	late        int64
}

func newShardFn(ms []spec.Model) *shardFn {
	p := pending.Make("pending")
	return &shardFn{
		Models:       ms,
		Model:        state.MakeValueState[[]byte]("replica"),
		Pending:      p.Entries,
		PendingIndex: p.Index,
		Train:        timers.InEventTime("shard"),
	}
}

func (fn *shardFn) Setup() error {
	var err error
	fn.specs, fn.featurizers, err = specsOf(fn.Models)
	return err
}

func (fn *shardFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, b []byte,
	_ func(string, []byte)) error {
	mk, _, err := splitShardKey(key)
	if err != nil {
		return err
	}
	id, _ := splitKey(mk)
	m, ok := fn.specs[id]
	if !ok {
		return fmt.Errorf("learn: no spec for model %q", id)
	}
	_, end, err := batchSpan(b)
	if err != nil {
		return err
	}
	if err := fn.queue.Add(sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, end-1, b); err != nil {
		return err
	}
	// One firing per merge interval, not per batch: the replica is seen
	// only at boundaries, and every firing encodes and writes the whole
	// model (megabytes for a hashed model).
	bd := boundaryOf(end, m.MergeEvery().Milliseconds())
	fn.Train.Set(tp, mtime.Time(bd).ToTime(), timers.WithTag("m"+strconv.FormatInt(bd, 10)))
	return nil
}

// OnTimer trains every ready batch, oldest first; at a boundary it then
// sends the replica.
func (fn *shardFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, tc timers.Context,
	emit func(string, []byte)) error {
	mk, shard, err := splitShardKey(key)
	if err != nil {
		return err
	}
	id, value := splitKey(mk)
	m := fn.specs[id]
	ready, err := takeBatches(&fn.queue, sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, ts)
	if err != nil {
		return err
	}
	send := strings.HasPrefix(tc.Tag, "m")
	if len(ready) == 0 && !send {
		return nil
	}
	st, _, err := fn.Model.Read(sp)
	if err != nil {
		return err
	}
	t, err := fn.cache.take(m, key, st)
	if err != nil {
		return fmt.Errorf("learn: model %s key %q shard %d: %w", id, value, shard, err)
	}
	var bd int64
	if send {
		if bd, err = strconv.ParseInt(tc.Tag[1:], 10, 64); err != nil {
			return fmt.Errorf("learn: merge timer tag %q: %w", tc.Tag, err)
		}
		if t.lastEnd > bd {
			fn.late++
		}
	}
	fz := fn.featurizers[id]
	for _, bt := range ready {
		sortEvents(bt.events)
		for i := range bt.events {
			e := &bt.events[i]
			if !e.HasLabel {
				continue // scored by scoreFn, nothing to learn
			}
			t.name(fz, e)
			t.l.PredictLearn(fz.Vector(e), e.Label)
			fn.examples++
		}
		t.lastEnd = bt.end
		fn.batches++
	}
	enc, err := t.encode()
	if err != nil {
		return err
	}
	if len(ready) > 0 {
		if err := fn.Model.Write(sp, enc); err != nil {
			return err
		}
	}
	// Unchanged when nothing was ready: enc is then what st held.
	fn.cache.put(key, enc, t)
	if send && t.l.Examples() > 0 {
		msg := binary.AppendUvarint(nil, uint64(shard))
		msg = binary.AppendVarint(msg, bd)
		emit(mk, append(msg, enc...))
	}
	return nil
}

func (fn *shardFn) FinishBundle(ctx context.Context, _ func(string, []byte)) {
	counter.Flush(ctx, CounterExamples, &fn.examples)
	counter.Flush(ctx, CounterBatches, &fn.batches)
	counter.Flush(ctx, CounterLateMerges, &fn.late)
}

// replica is a shard's model as the merger keeps it.
type replica struct {
	shard    int
	boundary int64
	state    []byte // decodeTrainer's input
}

func decodeReplica(b []byte) (replica, error) {
	r := bytes.NewReader(b)
	s, err := binary.ReadUvarint(r)
	if err != nil || s > spec.MaxShards {
		return replica{}, fmt.Errorf("learn: replica: corrupt shard")
	}
	bd, err := binary.ReadVarint(r)
	if err != nil {
		return replica{}, fmt.Errorf("learn: replica: %w", err)
	}
	return replica{shard: int(s), boundary: bd, state: b[len(b)-r.Len():]}, nil
}

// mergeState is the merger's Value state.
type mergeState struct {
	version     int64 // merges so far
	lastSnap    int64 // boundary of the last snapshot row
	lastSnapVer int64
	lastEnd     int64   // last merge boundary
	prevN       int64   // merged progressive examples at the last merge
	prevLoss    float64 // and their loss sum
	ph          *drift.PageHinkley
	replicas    []replica // latest per shard, by shard
}

func decodeMergeState(b []byte) (*mergeState, error) {
	ms := &mergeState{}
	if len(b) == 0 {
		ph, err := drift.NewPageHinkley(drift.DefaultPageHinkley)
		ms.ph = ph
		return ms, err
	}
	r := bytes.NewReader(b)
	bad := fmt.Errorf("learn: merge state: corrupt")
	for _, v := range []*int64{&ms.version, &ms.lastSnap, &ms.lastSnapVer, &ms.lastEnd, &ms.prevN} {
		x, err := binary.ReadVarint(r)
		if err != nil {
			return nil, bad
		}
		*v = x
	}
	var bits uint64
	if err := binary.Read(r, binary.LittleEndian, &bits); err != nil {
		return nil, bad
	}
	ms.prevLoss = math.Float64frombits(bits)
	part := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return nil, bad
		}
		off := len(b) - r.Len()
		r.Seek(int64(n), 1)
		return b[off : off+int(n)], nil
	}
	pb, err := part()
	if err != nil {
		return nil, err
	}
	ms.ph = new(drift.PageHinkley)
	if err := ms.ph.UnmarshalBinary(pb); err != nil {
		return nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > spec.MaxShards {
		return nil, bad
	}
	for range n {
		rb, err := part()
		if err != nil {
			return nil, err
		}
		rp, err := decodeReplica(rb)
		if err != nil {
			return nil, err
		}
		ms.replicas = append(ms.replicas, rp)
	}
	return ms, nil
}

func (ms *mergeState) encode() ([]byte, error) {
	var b []byte
	for _, v := range []int64{ms.version, ms.lastSnap, ms.lastSnapVer, ms.lastEnd, ms.prevN} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ms.prevLoss))
	pb, err := ms.ph.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(pb)))
	b = append(b, pb...)
	b = binary.AppendUvarint(b, uint64(len(ms.replicas)))
	for _, rp := range ms.replicas {
		msg := binary.AppendUvarint(nil, uint64(rp.shard))
		msg = binary.AppendVarint(msg, rp.boundary)
		msg = append(msg, rp.state...)
		b = binary.AppendUvarint(b, uint64(len(msg)))
		b = append(b, msg...)
	}
	return b, nil
}

// put replaces shard's replica, keeping replicas sorted by shard.
func (ms *mergeState) put(rp replica) {
	i, found := slices.BinarySearchFunc(ms.replicas, rp.shard, func(r replica, s int) int { return cmp.Compare(r.shard, s) })
	if found {
		ms.replicas[i] = rp
		return
	}
	ms.replicas = slices.Insert(ms.replicas, i, rp)
}

// merged folds the replicas in shard order: the lowest shard's learner
// takes the others' Merge (models.Learner documents each kind's rule).
// Feature names take the smallest key per index, at most MaxNames.
func (ms *mergeState) merged(m *spec.Model) (*trainer, error) {
	var out *trainer
	for _, rp := range ms.replicas {
		t, err := decodeTrainer(m, rp.state)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", rp.shard, err)
		}
		if out == nil {
			out = t
			continue
		}
		if err := out.l.Merge(t.l); err != nil {
			return nil, fmt.Errorf("shard %d: %w", rp.shard, err)
		}
		for idx, k := range t.names {
			old, ok := out.names[idx]
			switch {
			case !ok && len(out.names) < MaxNames:
				out.names[idx] = k
			case ok && k < old:
				out.names[idx] = k
			}
		}
	}
	return out, nil
}

// mergeFn merges a sharded model's replicas at every boundary (timer at
// boundary+1, tagged with the boundary; "final" at the end of the input)
// and sends the merged model to every shard's scorer: KV<ShardKey,
// msgModel + varint boundary + varint version + learner snapshot>. It
// writes the model's metrics row per merge, its snapshots, and drift
// alerts on the per-merge loss.
type mergeFn struct {
	Models []spec.Model `json:"models"`

	Merged       state.Value[[]byte]
	Pending      state.Bag[[]byte]
	PendingIndex state.Value[[]byte]
	Merge        timers.EventTime

	specs  map[string]*spec.Model
	queue  pending.Queue
	merges int64
}

func newMergeFn(ms []spec.Model) *mergeFn {
	p := pending.Make("replicas")
	return &mergeFn{
		Models:       ms,
		Merged:       state.MakeValueState[[]byte]("merged"),
		Pending:      p.Entries,
		PendingIndex: p.Index,
		Merge:        timers.InEventTime("merge"),
	}
}

func (fn *mergeFn) Setup() error {
	var err error
	fn.specs, _, err = specsOf(fn.Models)
	return err
}

func (fn *mergeFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, b []byte,
	_ func(string, []byte), _ func(Metrics), _ func(Snapshot), _ func(alerts.Row)) error {
	rp, err := decodeReplica(b)
	if err != nil {
		return err
	}
	// Due once the boundary is passed (boundary < ts).
	if err := fn.queue.Add(sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, rp.boundary+1, b); err != nil {
		return err
	}
	fn.Merge.Set(tp, mtime.Time(rp.boundary+1).ToTime(), timers.WithTag(strconv.FormatInt(rp.boundary, 10)))
	fn.Merge.Set(tp, mtime.EndOfGlobalWindowTime.ToTime(), timers.WithTag(finalTag))
	return nil
}

// OnTimer merges, boundary by boundary, every replica sent for a boundary
// before the firing time.
func (fn *mergeFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, tc timers.Context,
	emitModel func(string, []byte), emitMetrics func(Metrics), emitSnap func(Snapshot), emitAlert func(alerts.Row)) error {
	id, value := splitKey(key)
	m, ok := fn.specs[id]
	if !ok {
		return fmt.Errorf("learn: no spec for model %q", id)
	}
	raws, _, err := fn.queue.Take(sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, int64(ts))
	if err != nil {
		return err
	}
	ready := make([]replica, 0, len(raws))
	for _, r := range raws {
		rp, err := decodeReplica(r)
		if err != nil {
			return err
		}
		ready = append(ready, rp)
	}
	final := tc.Tag == finalTag
	if len(ready) == 0 && !final {
		return nil
	}
	slices.SortFunc(ready, func(a, b replica) int {
		return cmp.Or(cmp.Compare(a.boundary, b.boundary), cmp.Compare(a.shard, b.shard))
	})
	st, _, err := fn.Merged.Read(sp)
	if err != nil {
		return err
	}
	ms, err := decodeMergeState(st)
	if err != nil {
		return err
	}
	every := m.MergeEvery().Milliseconds()
	var last *trainer
	for i := 0; i < len(ready); {
		bd := ready[i].boundary
		for ; i < len(ready) && ready[i].boundary == bd; i++ {
			ms.put(ready[i])
		}
		t, err := ms.merged(m)
		if err != nil {
			return fmt.Errorf("learn: merge model %s key %q at %s: %w", id, value, rfc3339(bd), err)
		}
		last = t
		ms.version++
		ms.lastEnd = bd
		fn.merges++
		lb, err := t.l.MarshalBinary()
		if err != nil {
			return err
		}
		msg := []byte{msgModel}
		msg = binary.AppendVarint(msg, bd)
		msg = binary.AppendVarint(msg, ms.version)
		msg = append(msg, lb...)
		for s := range m.ShardCount() {
			emitModel(ShardKey(id, value, s), msg)
		}
		if err := fn.report(ms, t, m, value, bd, every, emitMetrics, emitSnap, emitAlert); err != nil {
			return err
		}
	}
	if final && ms.version > ms.lastSnapVer {
		if last == nil {
			if last, err = ms.merged(m); err != nil {
				return fmt.Errorf("learn: merge model %s key %q: %w", id, value, err)
			}
		}
		if err := fn.snapshot(ms, last, m, value, emitSnap); err != nil {
			return err
		}
	}
	enc, err := ms.encode()
	if err != nil {
		return err
	}
	return fn.Merged.Write(sp, enc)
}

// lossSums returns the progressive examples and loss sum of a metric set:
// log loss for classification, absolute error for regression.
func lossSums(s *metric.Set) (int64, float64) {
	if s.Task() == metric.Classification {
		return s.LogLoss.N, s.LogLoss.Sum
	}
	return s.MAE.N, s.MAE.Sum
}

// report writes the merge's metrics row (the shards' progressive metrics,
// summed), a snapshot when one is due, and a drift alert when the
// interval's mean loss rose.
func (fn *mergeFn) report(ms *mergeState, t *trainer, m *spec.Model, value string, bd, every int64,
	emitMetrics func(Metrics), emitSnap func(Snapshot), emitAlert func(alerts.Row)) error {
	n, sum := lossSums(t.l.Metrics())
	bn := n - ms.prevN
	row := Metrics{
		WindowStart: rfc3339(bd - every), WindowEnd: rfc3339(bd), Model: m.Name, Variant: m.Variant, Key: value,
		Examples: t.l.Examples(), BatchExamples: bn, BatchLoss: (sum - ms.prevLoss) / float64(max(bn, 1)),
	}
	ms.prevN, ms.prevLoss = n, sum
	if bn > 0 && ms.ph.Update(row.BatchLoss) {
		row.Drift = true
	}
	fillMetrics(&row, t.l.Metrics())
	emitMetrics(row)
	if row.Drift {
		lossName := "abs_error"
		if m.Kind == spec.Logistic {
			lossName = "log_loss"
		}
		emitAlert(alerts.Row{
			WindowEnd: rfc3339(bd), Scope: ScopeModel, Key: m.ID() + "/" + value, Metric: "drift:" + lossName,
			Value: row.BatchLoss, Baseline: progressiveLoss(t.l.Metrics()), Severity: alerts.Warning,
		})
	}
	snapEvery := m.SnapshotEvery().Milliseconds()
	if ms.lastSnap == 0 || bd/snapEvery != ms.lastSnap/snapEvery {
		return fn.snapshot(ms, t, m, value, emitSnap)
	}
	return nil
}

// snapshot writes the merged model as of the last merge; its version is
// the merge count.
func (fn *mergeFn) snapshot(ms *mergeState, t *trainer, m *spec.Model, value string, emitSnap func(Snapshot)) error {
	snap, err := snapshotRow(t.l, t.names, ms.lastEnd, m, value)
	if err != nil {
		return err
	}
	snap.Version = ms.version
	ms.lastSnap, ms.lastSnapVer = ms.lastEnd, ms.version
	emitSnap(snap)
	return nil
}

func (fn *mergeFn) FinishBundle(ctx context.Context, _ func(string, []byte), _ func(Metrics), _ func(Snapshot), _ func(alerts.Row)) {
	counter.Flush(ctx, CounterMerges, &fn.merges)
}

// published is a merged model as a scorer holds it.
type published struct {
	boundary, version int64
	raw               []byte // the whole message, after msgModel
	snapshot          []byte
}

func decodePublished(b []byte) (published, error) {
	r := bytes.NewReader(b)
	bd, err := binary.ReadVarint(r)
	if err != nil {
		return published{}, fmt.Errorf("learn: merged model: %w", err)
	}
	v, err := binary.ReadVarint(r)
	if err != nil {
		return published{}, fmt.Errorf("learn: merged model: %w", err)
	}
	return published{boundary: bd, version: v, raw: b, snapshot: b[len(b)-r.Len():]}, nil
}

// scoreFn scores one shard's events of a sharded model with the merged
// model of the latest boundary at or before their batch's start (version 0,
// untrained, before the first merge): labelled examples as progressive
// rows, unlabelled views as serving rows. Pending holds batches and
// Published the merged models not yet superseded, both pending.Queues (a
// firing reads neither back while the worker's copy is current: models are
// megabytes); its timer family is tagged with the batch's timestamp.
type scoreFn struct {
	Models  []spec.Model `json:"models"`
	Bounded bool         `json:"bounded"` // Config.Bounded: score once, at the end

	Pending        state.Bag[[]byte]
	PendingIndex   state.Value[[]byte]
	Published      state.Bag[[]byte]
	PublishedIndex state.Value[[]byte]
	Score          timers.EventTime

	specs       map[string]*spec.Model
	featurizers map[string]*spec.Featurizer
	queue       pending.Queue
	pubs        pending.Queue // merged models, due at their boundary
	// cache holds the last decoded merged model per model id: every shard
	// receives the same bytes for a version, so one decode serves all.
	cache map[string]cachedModel
}

type cachedModel struct {
	version int64
	l       models.Learner
}

func newScoreFn(ms []spec.Model, bounded bool) *scoreFn {
	p, pub := pending.Make("pending"), pending.Make("published")
	return &scoreFn{
		Models:         ms,
		Bounded:        bounded,
		Pending:        p.Entries,
		PendingIndex:   p.Index,
		Published:      pub.Entries,
		PublishedIndex: pub.Index,
		Score:          timers.InEventTime("score"),
	}
}

func (fn *scoreFn) published() pending.State {
	return pending.State{Entries: fn.Published, Index: fn.PublishedIndex}
}

func (fn *scoreFn) Setup() error {
	var err error
	fn.specs, fn.featurizers, err = specsOf(fn.Models)
	fn.cache = map[string]cachedModel{}
	return err
}

func (fn *scoreFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, b []byte,
	_ func(Prediction)) error {
	if len(b) == 0 {
		return fmt.Errorf("learn: empty scorer message for %q", key)
	}
	switch b[0] {
	case msgBatch:
		if err := addBatch(&fn.queue, sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, b[1:]); err != nil {
			return err
		}
		if fn.Bounded {
			// Every model is in before the input ends: one firing scores
			// all, instead of a firing per batch taking turns with each
			// model's arrival (on prism, a bundle each).
			fn.Score.Set(tp, mtime.EndOfGlobalWindowTime.ToTime(), timers.WithTag(finalTag))
		} else {
			fn.Score.Set(tp, ts.ToTime(), timers.WithTag(strconv.FormatInt(int64(ts), 10)))
		}
		return nil
	case msgModel:
		p, err := decodePublished(b[1:])
		if err != nil {
			return err
		}
		return fn.pubs.Add(sp, fn.published(), key, p.boundary, p.raw)
	}
	return fmt.Errorf("learn: scorer message kind %q for %q", b[0], key)
}

func (fn *scoreFn) learner(m *spec.Model, p published) (models.Learner, error) {
	if c, ok := fn.cache[m.ID()]; ok && c.version == p.version {
		return c.l, nil
	}
	var l models.Learner
	var err error
	if p.version == 0 {
		l, err = m.NewLearner()
	} else {
		l, err = models.Unmarshal(p.snapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("learn: model %s version %d: %w", m.ID(), p.version, err)
	}
	fn.cache[m.ID()] = cachedModel{version: p.version, l: l}
	return l, nil
}

func (fn *scoreFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, tc timers.Context,
	emitPred func(Prediction)) error {
	mk, _, err := splitShardKey(key)
	if err != nil {
		return err
	}
	id, value := splitKey(mk)
	m := fn.specs[id]
	ready, err := takeBatches(&fn.queue, sp, pending.State{Entries: fn.Pending, Index: fn.PendingIndex}, key, ts)
	if err != nil {
		return err
	}
	if len(ready) == 0 {
		return nil
	}
	pubRaw, err := fn.pubs.Peek(sp, fn.published(), key)
	if err != nil {
		return err
	}
	var pubs []published
	for _, r := range pubRaw {
		p, err := decodePublished(r)
		if err != nil {
			return err
		}
		pubs = append(pubs, p)
	}
	slices.SortFunc(pubs, func(a, b published) int { return cmp.Compare(a.boundary, b.boundary) })
	// at returns the latest model published at or before t.
	at := func(t int64) published {
		cur := published{}
		for _, p := range pubs {
			if p.boundary > t {
				break
			}
			cur = p
		}
		return cur
	}
	fz := fn.featurizers[id]
	for _, bt := range ready {
		p := at(bt.start)
		l, err := fn.learner(m, p)
		if err != nil {
			return err
		}
		sortEvents(bt.events)
		for i := range bt.events {
			e := &bt.events[i]
			row := Prediction{
				EventID: e.EventID, EventTime: rfc3339(e.EventTime), Model: m.Name, Variant: m.Variant, Key: value,
				Stage: StageServing, Version: p.version, Prediction: l.Predict(fz.Vector(e)),
			}
			if e.HasLabel {
				y := e.Label
				row.Stage, row.Label = StageProgressive, &y
			}
			emitPred(row)
		}
	}
	// Keep the model in force at ts and any later one: a batch not yet
	// ready starts after ts or in the same merge interval as ts.
	if cur := at(int64(ts)); len(pubs) > 0 && pubs[0].boundary < cur.boundary {
		if _, _, err := fn.pubs.Take(sp, fn.published(), key, cur.boundary-1); err != nil {
			return err
		}
	}
	return nil
}
