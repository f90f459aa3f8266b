package bigquery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"google.golang.org/api/googleapi"

	"github.com/pulse-analytics/pulse/transforms/counter"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/progress"
)

func init() {
	register.DoFn2x1[context.Context, beam.X, error](&writeFn{})
}

// Counter names, in namespace "pulse".
const (
	CounterRowsWritten  = "bq_rows_written"
	CounterRowsRejected = "bq_rows_rejected"
	CounterRetries      = "bq_retries"
)

// Limits of one insertAll request, below the API's (50,000 rows, 10 MB):
// https://cloud.google.com/bigquery/quotas#streaming_inserts
const (
	maxBatchRows  = 500
	maxBatchBytes = 8 << 20
	maxAttempts   = 8
)

// IDer is a row that names its own insert id. Other rows get a hash of
// their table and content: a retried bundle re-sends the same ids, so
// BigQuery drops the copies it already has.
type IDer interface {
	InsertID() string
}

// Write inserts rows (a PCollection of a struct type, any windowing) into
// table t of out. It is a sink: rows BigQuery rejects are written to the
// dead_letter table of the same dataset with BigQuery's reason.
func Write(s beam.Scope, out Output, t Table, rows beam.PCollection) {
	s = s.Scope("WriteBigQuery." + t.Name)
	beam.ParDo0(s, &writeFn{Project: out.Project, Dataset: out.Dataset, Endpoint: out.Endpoint,
		Table: t.Name, ClusterBy: t.ClusterBy}, rows)
}

type writeFn struct {
	Project   string   `json:"project"`
	Dataset   string   `json:"dataset"`
	Endpoint  string   `json:"endpoint"`
	Table     string   `json:"table"`
	ClusterBy []string `json:"cluster_by"`

	client  *bq.Client
	ins     *bq.Inserter
	dead    *bq.Inserter
	created bool
	batch   []*saver
	bytes   int
	written int64
	// backoff waits between attempts; tests make it instant.
	backoff func(attempt int) time.Duration
}

func (fn *writeFn) Setup(ctx context.Context) error {
	c, err := NewClient(ctx, Output{Project: fn.Project, Dataset: fn.Dataset, Endpoint: fn.Endpoint})
	if err != nil {
		return err
	}
	fn.client = c
	d := c.Dataset(fn.Dataset)
	fn.ins = d.Table(fn.Table).Inserter()
	// Valid rows land even when others in the request are rejected; the
	// rejected ones go to the dead letter.
	fn.ins.SkipInvalidRows = true
	fn.dead = d.Table(deadletter.Table).Inserter()
	if fn.backoff == nil {
		fn.backoff = expBackoff
	}
	return nil
}

func (fn *writeFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

func (fn *writeFn) StartBundle(ctx context.Context) {
	fn.batch, fn.bytes = fn.batch[:0], 0
}

func (fn *writeFn) ProcessElement(ctx context.Context, row beam.X) error {
	if !fn.created {
		// The first row's type is the table's; create it on demand.
		d := fn.client.Dataset(fn.Dataset)
		if err := EnsureTable(ctx, d, Table{Name: fn.Table, Row: row, ClusterBy: fn.ClusterBy}); err != nil {
			return err
		}
		if err := EnsureTable(ctx, d, Table{Name: deadletter.Table, Row: deadletter.Row{}}); err != nil {
			return err
		}
		fn.created = true
	}
	vals, err := values(row)
	if err != nil {
		return fmt.Errorf("bigquery %s: %w", fn.Table, err)
	}
	id, size, err := insertID(fn.Table, row)
	if err != nil {
		return fmt.Errorf("bigquery %s: %w", fn.Table, err)
	}
	fn.batch = append(fn.batch, &saver{row: vals, id: id})
	fn.bytes += size
	if len(fn.batch) >= maxBatchRows || fn.bytes >= maxBatchBytes {
		return fn.flush(ctx)
	}
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error {
	err := fn.flush(ctx)
	counter.Flush(ctx, CounterRowsWritten, &fn.written)
	return err
}

// flush inserts the batch, retrying what may succeed on a second try. An
// error that persists fails the bundle; the runner retries it and the
// insert ids keep the rows that did land from landing twice.
func (fn *writeFn) flush(ctx context.Context) error {
	if len(fn.batch) == 0 {
		return nil
	}
	rows := fn.batch
	for attempt := 1; ; attempt++ {
		err := fn.ins.Put(ctx, rows)
		if err == nil {
			fn.written += int64(len(rows))
			progress.AddWritten(int64(len(rows)))
			break
		}
		var pm bq.PutMultiError
		if errors.As(err, &pm) {
			rejected, retry := fn.split(rows, pm)
			fn.written += int64(len(rows) - len(rejected) - len(retry))
			progress.AddWritten(int64(len(rows) - len(rejected) - len(retry)))
			if err := fn.deadLetter(ctx, rejected, pm); err != nil {
				return err
			}
			if len(retry) == 0 {
				break
			}
			rows = retry
		} else if !retryable(err) {
			return fmt.Errorf("bigquery insert into %s: %w", fn.Table, err)
		}
		if attempt == maxAttempts {
			return fmt.Errorf("bigquery insert into %s: %d attempts: %w", fn.Table, attempt, err)
		}
		beam.NewCounter(counter.Namespace, CounterRetries).Inc(ctx, 1)
		if err := fn.pause(ctx, attempt); err != nil {
			return err
		}
	}
	fn.batch, fn.bytes = fn.batch[:0], 0
	return nil
}

// split sorts the rows of a partial failure into those BigQuery rejected
// for what they hold and those it did not insert for another reason
// ("stopped", "backendError", ...), which are worth another attempt.
func (fn *writeFn) split(rows []*saver, pm bq.PutMultiError) (rejected, retry []*saver) {
	for _, e := range pm {
		if e.RowIndex < 0 || e.RowIndex >= len(rows) {
			continue
		}
		if isRowInvalid(e) {
			rejected = append(rejected, rows[e.RowIndex])
		} else {
			retry = append(retry, rows[e.RowIndex])
		}
	}
	return rejected, retry
}

func isRowInvalid(e bq.RowInsertionError) bool {
	for _, err := range e.Errors {
		var be *bq.Error
		if errors.As(err, &be) && be.Reason == "invalid" {
			return true
		}
	}
	return false
}

// deadLetter writes rejected rows, with BigQuery's reasons, to dead_letter.
func (fn *writeFn) deadLetter(ctx context.Context, rejected []*saver, pm bq.PutMultiError) error {
	if len(rejected) == 0 {
		return nil
	}
	reasons := map[string]string{}
	for _, e := range pm {
		reasons[e.InsertID] = e.Errors.Error()
	}
	now := time.Now()
	var rows []*saver
	for _, r := range rejected {
		raw, _ := json.Marshal(r.row)
		d := deadletter.New(raw, "bigquery rejected the row: "+reasons[r.id], "bigquery:"+fn.Table, now)
		vals, err := values(d)
		if err != nil {
			return err
		}
		rows = append(rows, &saver{row: vals, id: "dl-" + r.id})
	}
	beam.NewCounter(counter.Namespace, CounterRowsRejected).Inc(ctx, int64(len(rejected)))
	for attempt := 1; ; attempt++ {
		err := fn.dead.Put(ctx, rows)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt == maxAttempts {
			return fmt.Errorf("bigquery dead letter for %s: %w", fn.Table, err)
		}
		if err := fn.pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// pause waits before attempt+1, or until ctx ends.
func (fn *writeFn) pause(ctx context.Context, attempt int) error {
	select {
	case <-time.After(fn.backoff(attempt)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable reports whether an insert may succeed if sent again.
func retryable(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "http2:")
}

func expBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << (attempt - 1)
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	return d
}

// insertID returns the row's insert id and its encoded size.
func insertID(table string, row any) (string, int, error) {
	b, err := json.Marshal(row)
	if err != nil {
		return "", 0, err
	}
	if r, ok := row.(IDer); ok {
		return r.InsertID(), len(b), nil
	}
	h := sha256.New()
	h.Write([]byte(table))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16]), len(b), nil
}

// saver is one row to insert.
type saver struct {
	row map[string]bq.Value
	id  string
}

// Save implements bigquery.ValueSaver.
func (s *saver) Save() (map[string]bq.Value, string, error) { return s.row, s.id, nil }
