// Package jsonl writes rows as JSON lines into a directory, one sub-folder
// per table (DIR/<table>/part-*.jsonl). Unlike textio.Write it works on
// windowed and unbounded input: each bundle writes its own file.
package jsonl

import (
	"bytes"
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
	buf  bytes.Buffer
	enc  *json.Encoder
}

func (fn *writeFn) Setup() error {
	if err := os.MkdirAll(fn.Dir, 0o755); err != nil {
		return fmt.Errorf("jsonl sink: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	fn.id = hex.EncodeToString(b[:])
	fn.enc = json.NewEncoder(&fn.buf)
	fn.enc.SetEscapeHTML(false)
	return nil
}

// StartBundle drops what a failed bundle left behind: the runner retries
// those rows in a new bundle.
func (fn *writeFn) StartBundle(ctx context.Context) {
	fn.buf.Reset()
	fn.rows = 0
}

func (fn *writeFn) ProcessElement(ctx context.Context, row beam.X) error {
	// Encode appends the newline that JSON lines want.
	if err := fn.enc.Encode(row); err != nil {
		return fmt.Errorf("jsonl sink: encode %v: %w", reflect.TypeOf(row), err)
	}
	fn.rows++
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error {
	if fn.buf.Len() == 0 {
		return nil
	}
	fn.seq++
	name := filepath.Join(fn.Dir, fmt.Sprintf("part-%s-%05d.jsonl", fn.id, fn.seq))
	tmp := filepath.Join(fn.Dir, "."+filepath.Base(name)+".tmp")
	if err := os.WriteFile(tmp, fn.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("jsonl sink: %w", err)
	}
	fn.buf.Reset()
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("jsonl sink: %w", err)
	}
	progress.AddWritten(fn.rows)
	fn.rows = 0
	return nil
}
