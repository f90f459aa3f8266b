package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"google.golang.org/api/iterator"

	"github.com/pulse-analytics/pulse/integration/stack"
	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/alerts"
	"github.com/pulse-analytics/pulse/transforms/bigquery"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/dedup"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

// idDedup stands in front of the BigQuery emulator and does with insert
// ids what BigQuery's streaming inserts do and the emulator (goccy
// bigquery-emulator v0.6.6, whose insertAll handler stores every row it is
// sent) does not: a row whose insertId its table has already stored is
// acknowledged and not stored again. BigQuery does this best-effort, for
// at least a minute after the first insert; here it is exact and never
// expires, so a test through it shows what the sink's ids make possible,
// not what BigQuery guarantees. It also records every id that arrives
// twice with a different row (leaving out dead_letter's seen_at, which the
// id leaves out on purpose): on BigQuery such a row would be lost.
type idDedup struct {
	URL string

	proxy *httputil.ReverseProxy
	// fail, when set, may fail an insertAll into table path p, the n-th
	// into that dataset, with a status code (0: pass it on).
	fail atomic.Pointer[func(p string, n int64) int]

	mu        sync.Mutex
	stored    map[string]map[string]string // table path → insert id → row
	inserts   map[string]int64             // insertAll requests per dataset
	copies    map[string]int64             // rows dropped as copies, per dataset
	conflicts []string
}

func newIDDedup(t *testing.T, emulator string) *idDedup {
	t.Helper()
	target, err := url.Parse(emulator)
	if err != nil {
		t.Fatal(err)
	}
	p := &idDedup{proxy: httputil.NewSingleHostReverseProxy(target), stored: map[string]map[string]string{},
		inserts: map[string]int64{}, copies: map[string]int64{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// insertAllRow is one row of a tabledata.insertAll request, as this
// proxy reads it; the request's other members are passed on as they are.
type insertAllRow struct {
	InsertID string          `json:"insertId"`
	JSON     json.RawMessage `json:"json"`
}

func (p *idDedup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A request runs to its end even when its sender has gone (a failing
	// job cancels its requests), as on a real server: the emulator's
	// answer is then the truth about what it stored, and the emulator
	// does not lose its database connection to a cancelled query.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/insertAll") {
		p.proxy.ServeHTTP(w, r)
		return
	}
	var req map[string]json.RawMessage
	var rows []insertAllRow
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := json.Unmarshal(req["rows"], &rows); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	table := r.URL.Path
	dataset := datasetOf(table)

	// An id is taken when its row is sent on, so that a copy arriving
	// meanwhile (or later in the same request) is dropped; it is released
	// again if the emulator does not store the row, whose sender retries.
	p.mu.Lock()
	p.inserts[dataset]++
	if f := p.fail.Load(); f != nil {
		if code := (*f)(table, p.inserts[dataset]); code != 0 {
			p.mu.Unlock()
			http.Error(w, fmt.Sprintf(`{"error":{"code":%d,"message":"injected"}}`, code), code)
			return
		}
	}
	if p.stored[table] == nil {
		p.stored[table] = map[string]string{}
	}
	var fresh []insertAllRow
	var index []int // fresh[i] is rows[index[i]]
	for i, row := range rows {
		content := canonical(row.JSON)
		if row.InsertID == "" {
			p.conflicts = append(p.conflicts, fmt.Sprintf("%s: a row without an insert id: %s", table, content))
		} else if old, ok := p.stored[table][row.InsertID]; ok {
			p.copies[dataset]++
			if old != content {
				p.conflicts = append(p.conflicts, fmt.Sprintf("%s id %s: stored %s, then sent %s", table, row.InsertID, old, content))
			}
			continue
		}
		p.stored[table][row.InsertID] = content
		fresh = append(fresh, row)
		index = append(index, i)
	}
	p.mu.Unlock()
	if len(fresh) == 0 {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"bigquery#tableDataInsertAllResponse"}`)
		return
	}
	req["rows"], _ = json.Marshal(fresh)
	body, _ := json.Marshal(req)
	fwd := r.Clone(r.Context())
	fwd.Body = io.NopCloser(bytes.NewReader(body))
	fwd.ContentLength = int64(len(body))
	fwd.Header.Del("Content-Length")
	rec := httptest.NewRecorder()
	p.proxy.ServeHTTP(rec, fwd)
	failed := map[int]bool{}
	if rec.Code != http.StatusOK {
		for i := range fresh {
			failed[i] = true
		}
	} else {
		// Rows the emulator reports as not inserted are released, and
		// their indexes mapped back to the caller's request.
		var resp struct {
			Kind         string `json:"kind"`
			InsertErrors []struct {
				Index  int             `json:"index"`
				Errors json.RawMessage `json:"errors"`
			} `json:"insertErrors"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &resp) == nil && len(resp.InsertErrors) > 0 {
			for i := range resp.InsertErrors {
				failed[resp.InsertErrors[i].Index] = true
				resp.InsertErrors[i].Index = index[resp.InsertErrors[i].Index]
			}
			b, _ := json.Marshal(resp)
			rec.Body = bytes.NewBuffer(b)
			rec.Header().Del("Content-Length")
		}
	}
	if len(failed) > 0 {
		p.mu.Lock()
		for i := range failed {
			delete(p.stored[table], fresh[i].InsertID)
		}
		p.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// canonical is a row's JSON with sorted members and without seen_at.
func canonical(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return string(raw)
	}
	delete(m, "seen_at")
	b, _ := json.Marshal(m)
	return string(b)
}

// datasetOf is the dataset of a /projects/P/datasets/D/tables/T/insertAll path.
func datasetOf(path string) string {
	_, rest, _ := strings.Cut(path, "/datasets/")
	d, _, _ := strings.Cut(rest, "/")
	return d
}

func (p *idDedup) copiesIn(dataset string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.copies[dataset]
}

func (p *idDedup) conflicting() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.conflicts)
}

// runJob runs the job on prism, first creating the dataset of cfg.Output
// and its tables and views if create is set.
func runJob(t *testing.T, cfg job.Config, create bool) (map[string]int64, error) {
	t.Helper()
	out, err := bigquery.Parse(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	out.Endpoint = cfg.BigQueryEndpoint
	client, err := bigquery.NewClient(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if create {
		if err := bigquery.Init(context.Background(), client, out, job.Tables(), job.Views()); err != nil {
			t.Fatal(err)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	res, err := ptest.RunWithMetrics(p)
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, ctr := range res.Metrics().AllMetrics().Counters() {
		if ctr.Key.Namespace == parse.Namespace {
			m[ctr.Key.Name] += ctr.Committed
		}
	}
	return m, nil
}

// row is a table row read back: each column's value as text.
type row map[string]string

// text is the row with its columns in order, leaving out dead_letter's
// seen_at, the processing time of a rejection, which its insert id leaves
// out too.
func (r row) text() string {
	cols := make([]string, 0, len(r))
	for c := range r {
		if c != "seen_at" {
			cols = append(cols, c)
		}
	}
	sort.Strings(cols)
	return r.key(cols...)
}

// key is the row's values of cols.
func (r row) key(cols ...string) string {
	var b strings.Builder
	for _, c := range cols {
		fmt.Fprintf(&b, "%s=%s ", c, r[c])
	}
	return b.String()
}

// tableRows reads every table of the job from dataset.
func tableRows(t *testing.T, c *bq.Client, dataset string) map[string][]row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := map[string][]row{}
	for _, tb := range job.Tables() {
		it := c.Dataset(dataset).Table(tb.Name).Read(ctx)
		rows := []row{}
		for {
			var vals []bq.Value
			err := it.Next(&vals)
			if err == iterator.Done {
				break
			}
			if err != nil {
				t.Fatalf("read %s.%s: %v", dataset, tb.Name, err)
			}
			r := row{}
			for i, f := range it.Schema {
				r[f.Name] = fmt.Sprint(vals[i])
			}
			rows = append(rows, r)
		}
		out[tb.Name] = rows
	}
	return out
}

// texts is rows as sorted text, keeping those keep accepts.
func texts(rows []row, keep func(row) bool) []string {
	out := []string{}
	for _, r := range rows {
		if keep(r) {
			out = append(out, r.text())
		}
	}
	sort.Strings(out)
	return out
}

// sameRows requires got and want to hold the same rows (as multisets).
func sameRows(t *testing.T, name string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		t.Logf("%s: %d rows, equal to the fault-free run's", name, len(want))
		return
	}
	extra, missing := diff(got, want), diff(want, got)
	t.Errorf("%s: %d rows, want the fault-free run's %d; %d extra, %d missing", name, len(got), len(want), len(extra), len(missing))
	for i := 0; i < len(extra) && i < 3; i++ {
		t.Logf("  extra: %.300s", extra[i])
	}
	for i := 0; i < len(missing) && i < 3; i++ {
		t.Logf("  missing: %.300s", missing[i])
	}
}

// diff is the multiset a − b of sorted slices.
func diff(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) {
		switch {
		case j == len(b) || a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			j++
		default:
			i++
			j++
		}
	}
	return out
}

func total(rows map[string][]row) int {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	return n
}

func all(row) bool { return true }

// modelAlert reports whether an alerts row is about a model's drift.
func modelAlert(r row) bool {
	return r["scope"] != alerts.ScopeGlobal && r["scope"] != alerts.ScopeCategory
}

// TestRetriedJobLosesAndDuplicatesNothing is the forced bundle retry, as
// prism can do it. prism (v2.77) does not retry a failed bundle: a bundle
// error fails the job (internal/execute.go: the bundle's errgroup returns
// the error and em.FailBundle drops its work). So, as Dataflow and Flink
// redo a failed bundle's work from the last committed state, the test
// runs the job over a file into a dataset, fails a bundle of the BigQuery
// sink mid-way with a permanent error after earlier bundles' rows have
// landed, and runs the same job again into the same dataset. Every table
// must then hold exactly the rows of a fault-free run into another
// dataset: the re-run re-creates every row with its insert id, and the
// rows the first run stored are dropped as copies by id (by BigQuery, and
// here by the idDedup proxy, since the emulator ignores ids).
func TestRetriedJobLosesAndDuplicatesNothing(t *testing.T) {
	st, err := stack.Start(project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := gen.Config{Seed: 23, Users: 200, Items: 80, Categories: 6, Duplicates: 0.05, Malformed: 0.1, Late: 0.02}
	data, err := gen.Lines(cfg, 2000)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeFile(t, file, data)
	ids := newIDDedup(t, st.BigQueryURL)
	created := map[string]bool{}
	run := func(dataset string) (map[string]int64, error) {
		create := !created[dataset]
		created[dataset] = true
		return runJob(t, job.Config{Pipeline: job.All, Input: file, Output: "bigquery://" + project + "/" + dataset,
			BigQueryEndpoint: ids.URL, DedupHorizon: time.Hour}, create)
	}
	client := bqClient(t, st.BigQueryURL)

	start := time.Now()
	if _, err := run("clean"); err != nil {
		t.Fatalf("fault-free run: %v", err)
	}
	want := tableRows(t, client, "clean")
	t.Logf("fault-free run: %d rows in %s", total(want), time.Since(start).Round(time.Millisecond))

	// The 6th insert into the dataset fails with 400, which the sink does
	// not retry: its bundle fails, and with it the job.
	const failAt = 6
	fail := func(p string, n int64) int {
		if datasetOf(p) == "retried" && n == failAt {
			return http.StatusBadRequest
		}
		return 0
	}
	ids.fail.Store(&fail)
	if _, err := run("retried"); err == nil {
		t.Fatal("the job succeeded although a bundle of its sink failed")
	} else if !strings.Contains(err.Error(), "injected") {
		t.Fatalf("the job failed, but not for the injected fault: %v", err)
	}
	ids.fail.Store(nil)
	partial := total(tableRows(t, client, "retried"))
	if partial == 0 || partial >= total(want) {
		t.Fatalf("the failed run left %d rows; want some but not all of the fault-free run's %d", partial, total(want))
	}
	before := ids.copiesIn("retried")

	start = time.Now()
	counters, err := run("retried")
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	t.Logf("re-run in %s; counters %v", time.Since(start).Round(time.Millisecond), counters)
	copies := ids.copiesIn("retried") - before
	if copies == 0 {
		t.Error("no row was sent again after the failure: nothing was tested")
	}
	t.Logf("the failed run left %d rows; %d rows sent again after the failure (by the re-run, or late by the failed run's last bundles) were dropped by insert id", partial, copies)
	for _, c := range ids.conflicting() {
		t.Errorf("insert id reused for another row: %.400s", c)
	}

	// The tables of counts, sessions and dead letters do not depend on the
	// order in which events reach a DoFn: the re-run re-creates them row
	// for row, and they end exactly as the fault-free run's.
	got := tableRows(t, client, "retried")
	for _, name := range []string{monitor.TableItemMetrics, monitor.TableCategoryMetrics, monitor.TableTrending,
		monitor.TableUserSessions, deadletter.Table} {
		sameRows(t, name, texts(got[name], all), texts(want[name], all))
	}
	sameRows(t, "alerts on event rates and shares", texts(got[alerts.Table], func(r row) bool { return !modelAlert(r) }),
		texts(want[alerts.Table], func(r row) bool { return !modelAlert(r) }))

	// The learn pipeline trains online, so its rows depend on the order
	// in which a learner sees examples; on a file the trainers follow event
	// time within a key (pipelines/learn), and unsplit prism
	// (job.UnsplitOnPrism) reproduces predictions, metrics, snapshots and
	// drift alerts row for row. A runner that replays a failed bundle in
	// another order (Dataflow, Flink on a stream) need not:
	// docs/reliability.md.
	for _, name := range []string{learn.TablePredictions, learn.TableModelMetrics, learn.TableModelSnapshots} {
		sameRows(t, name, texts(got[name], all), texts(want[name], all))
	}
	sameRows(t, "model drift alerts", texts(got[alerts.Table], modelAlert), texts(want[alerts.Table], modelAlert))
}

// TestPubSubRedeliveryLosesAndDuplicatesNothing makes the Pub/Sub fake
// redeliver messages the job has received and not yet acknowledged, as
// Pub/Sub does when a lease expires (a worker stalled past the ack
// deadline, a lost lease extension), and requires the tables to equal a
// run without redelivery. The redelivery is pstest's own: the test moves
// the fake's clock past every lease while messages are outstanding, so
// the fake makes them available again, delivers them again with new ack
// ids, and ignores the first delivery's late ack. The generated stream
// has no duplicates of its own, so every copy the job sees is a
// redelivery: each must be dropped by de-duplication (counted) or, for a
// malformed message, by its dead letter row's insert id. dead_letter must
// hold each malformed message once, and item_metrics exactly the batch
// run's rows.
func TestPubSubRedeliveryLosesAndDuplicatesNothing(t *testing.T) {
	const n = 1500
	cfg := gen.Config{Seed: 31, Users: 300, Items: 120, Categories: 8, Malformed: 0.1}
	data, err := gen.Lines(cfg, n)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := gen.New(cfg)
	var buf []byte
	for i := 0; i < n; i++ {
		buf, _ = g.Next(buf[:0])
	}
	stats := g.Stats()
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeFile(t, file, data)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))

	var (
		st       *stack.Stack
		ids      *idDedup
		counters map[string]int64
		sub      = pubsub.Name{Project: project, Kind: "subscriptions", ID: "events-pulse"}
		jumped   atomic.Int64 // outstanding messages when the clock moved
	)
	for attempt := 1; ; attempt++ {
		st, err = stack.Start(project)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		var skew atomic.Int64
		st.PubSub.SetTimeNowFunc(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
		publishAll(t, st, sub, lines)
		ids = newIDDedup(t, st.BigQueryURL)

		// Whenever at least 50 messages are delivered and not yet
		// acknowledged, at most six times and 300 ms apart, move the
		// fake's clock 70 s on: past the subscription's 60 s ack deadline
		// and the client's lease extensions (10 s each), and, in all,
		// well within the fake's 10 minutes of retention. A message is
		// redelivered only if the fake sees its deadline passed before
		// the job's ack arrives, and the job acks within milliseconds of
		// finishing a bundle, so one jump can miss: several make the
		// redelivery all but certain (the test fails if there was none).
		done := make(chan struct{})
		jumped.Store(0)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var last time.Time
			for jumps := 0; jumps < 6; {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				out := 0
				for _, m := range st.PubSub.Messages() {
					if m.Deliveries > 0 && m.Acks == 0 {
						out++
					}
				}
				if out >= 50 && time.Since(last) >= 300*time.Millisecond {
					skew.Add(int64(70 * time.Second))
					jumped.Add(int64(out))
					last = time.Now()
					jumps++
				}
			}
		}()
		// The monitor pipeline only: the learn tables do not compare
		// with another run (TestRetriedJobLosesAndDuplicatesNothing), and
		// learning would double the test's time.
		jc := job.Config{Pipeline: job.Monitor, Input: sub.URL(), Output: "bigquery://" + project + "/redelivered",
			BigQueryEndpoint: ids.URL, DedupHorizon: time.Hour}
		// As in TestStreamFromPubSubToBigQuery: no early panes and a skew
		// and lateness beyond the stream's span, so that the rows do not
		// depend on timing and compare with a batch run's.
		jc.PubSub = pubsub.ReadConfig{Endpoint: st.PubSubAddr, Streams: 32, MaxSkew: 24 * time.Hour, IdleStop: 2 * time.Second}
		jc.Monitor = monitor.Config{EarlyFiring: -1, Lateness: 48 * time.Hour}
		start := time.Now()
		counters, err = runJob(t, jc, true)
		close(done)
		if err == nil {
			t.Logf("stream run in %s; counters %v; generated %v", time.Since(start).Round(time.Millisecond), counters, stats)
			break
		}
		if attempt == 1 && strings.Contains(err.Error(), "nothing in progress and no refreshes") {
			t.Logf("prism aborted the streaming job (%.200s); running it again on a fresh stack", err)
			continue
		}
		t.Fatal(err)
	}

	// The redelivery happened, and every delivery reached the job.
	var deliveries, redelivered, validCopies, malformedCopies int64
	var dec event.Decoder
	for _, m := range st.PubSub.Messages() {
		deliveries += int64(m.Deliveries)
		if m.Deliveries > 1 {
			redelivered++
			var e event.Event
			if dec.Decode(m.Data, &e) == nil {
				validCopies += int64(m.Deliveries - 1)
			} else {
				malformedCopies += int64(m.Deliveries - 1)
			}
		}
		if m.Acks == 0 {
			t.Errorf("message %s was never acknowledged (%d deliveries)", m.ID, m.Deliveries)
		}
	}
	t.Logf("the clock moved with %d messages outstanding in all; %d messages delivered more than once, %d deliveries in all for %d messages (%d copies of valid events, %d of malformed ones)",
		jumped.Load(), redelivered, deliveries, n, validCopies, malformedCopies)
	if redelivered == 0 {
		t.Fatal("the fake redelivered no message: nothing was tested")
	}
	if got := counters[parse.CounterRead]; got != deliveries {
		t.Errorf("the job read %d messages; the fake made %d deliveries", got, deliveries)
	}
	if got := counters[dedup.CounterDuplicates]; got != validCopies {
		t.Errorf("de-duplication dropped %d events; the fake redelivered %d copies of valid events", got, validCopies)
	}
	if got := counters[parse.CounterDead]; got != stats.Malformed+malformedCopies {
		t.Errorf("dead-lettered %d messages; want the %d malformed ones and their %d redelivered copies", got, stats.Malformed, malformedCopies)
	}

	// The tables hold what a run without redelivery holds.
	client := bqClient(t, st.BigQueryURL)
	batch := batchRun(t, job.Monitor, file)
	reconcileItems(t, gotItems(t, client, "redelivered"), wantItems(t, batch))
	type count struct{ N int64 }
	dead := query[count](t, client, "SELECT COUNT(*) AS N FROM `"+project+".redelivered.dead_letter` WHERE source = '"+sub.URL()+"'")
	if dead[0].N != stats.Malformed {
		t.Errorf("dead_letter holds %d rows from the subscription, want the %d malformed messages once each", dead[0].N, stats.Malformed)
	}
	t.Logf("%d redelivered rows dropped by insert id", ids.copiesIn("redelivered"))
	for _, c := range ids.conflicting() {
		t.Errorf("insert id reused for another row: %.400s", c)
	}
}

// batchRun runs pipeline over file into a directory.
func batchRun(t *testing.T, pipeline, file string) string {
	t.Helper()
	dir := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, job.Config{Pipeline: pipeline, Input: file, Output: dir, DedupHorizon: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publishAll creates the topic and subscription and publishes lines.
func publishAll(t *testing.T, st *stack.Stack, sub pubsub.Name, lines [][]byte) {
	t.Helper()
	ctx := context.Background()
	topic := pubsub.Name{Project: project, Kind: "topics", ID: "events"}
	client, err := pubsub.NewClient(ctx, project, st.PubSubAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := pubsub.EnsureTopic(ctx, client, topic); err != nil {
		t.Fatal(err)
	}
	if err := pubsub.EnsureSubscription(ctx, client, sub, topic); err != nil {
		t.Fatal(err)
	}
	i := 0
	if got, err := pubsub.Publish(ctx, client, topic, func() ([]byte, bool) {
		if i == len(lines) {
			return nil, false
		}
		i++
		return lines[i-1], true
	}); err != nil || got != len(lines) {
		t.Fatalf("published %d of %d: %v", got, len(lines), err)
	}
}
