// Package jsonl writes rows as JSON lines into a directory, one sub-folder
// per table (DIR/<table>/part-*.jsonl). Unlike textio.Write it works on
// windowed and unbounded input: each bundle writes its own file.
package jsonl

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/progress"
)

func init() {
	register.DoFn2x1[context.Context, beam.X, error](&writeFn{})
}

// Write writes rows (any JSON-encodable type) to DIR/table. It is a sink:
// it returns nothing. Rows become visible a file at a time, when the bundle
// that holds them finishes, so a reader never sees half a file.
func Write(s beam.Scope, dir, table string, rows beam.PCollection) {
	s = s.Scope("WriteJSONL." + table)
	beam.ParDo0(s, &writeFn{Dir: filepath.Join(dir, table)}, rows)
}

type writeFn struct {
	Dir string `json:"dir"`

	id   string
	seq  int
	rows int64
	// The open part: rows stream through w into tmp, renamed to its name
	// when the bundle finishes, so the sink holds a buffer, not a bundle.
	f    *os.File
	tmp  string
	name string
	w    *bufio.Writer
	enc  *json.Encoder
}

func (fn *writeFn) Setup() error {
	if err := os.MkdirAll(fn.Dir, 0o755); err != nil {
		return fmt.Errorf("jsonl sink: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	fn.id = hex.EncodeToString(b[:])
	fn.w = bufio.NewWriterSize(nil, 1<<16)
	fn.enc = json.NewEncoder(fn.w)
	fn.enc.SetEscapeHTML(false)
	return nil
}

// StartBundle drops what a failed bundle left behind: the runner retries
// those rows in a new bundle.
func (fn *writeFn) StartBundle(ctx context.Context) {
	fn.discard()
	fn.rows = 0
}

func (fn *writeFn) ProcessElement(ctx context.Context, row beam.X) error {
	if fn.f == nil {
		fn.seq++
		fn.name = filepath.Join(fn.Dir, fmt.Sprintf("part-%s-%05d.jsonl", fn.id, fn.seq))
		fn.tmp = filepath.Join(fn.Dir, "."+filepath.Base(fn.name)+".tmp")
		f, err := os.Create(fn.tmp)
		if err != nil {
			return fmt.Errorf("jsonl sink: %w", err)
		}
		fn.f = f
		fn.w.Reset(f)
	}
	// Encode appends the newline that JSON lines want.
	if err := fn.enc.Encode(row); err != nil {
		return fmt.Errorf("jsonl sink: encode %v: %w", reflect.TypeOf(row), err)
	}
	fn.rows++
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error {
	if fn.f == nil {
		return nil
	}
	err := fn.w.Flush()
	if cerr := fn.f.Close(); err == nil {
		err = cerr
	}
	fn.f = nil
	if err == nil {
		err = os.Rename(fn.tmp, fn.name)
	}
	if err != nil {
		os.Remove(fn.tmp)
		return fmt.Errorf("jsonl sink: %w", err)
	}
	progress.AddWritten(fn.rows)
	fn.rows = 0
	return nil
}

func (fn *writeFn) Teardown() { fn.discard() }

// discard removes the part a failed bundle left open.
func (fn *writeFn) discard() {
	if fn.f != nil {
		fn.f.Close()
		os.Remove(fn.tmp)
		fn.f = nil
	}
}
