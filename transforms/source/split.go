package source

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(string), error](&rangeFn{})
	register.Emitter1[string]()
}

// LinesParts is Lines split into n parts, each its own root: part i reads
// the lines that start in the i-th n-th of every file's bytes, so prism,
// which runs a stage as one bundle at a time, reads and parses the parts
// at once (see package parts). Lines are those of Lines: split at "\n"
// only, empty ones kept, a last one without "\n" kept if not empty. n
// below 2 is Lines itself.
func LinesParts(s beam.Scope, input string, n int) []beam.PCollection {
	if n < 2 {
		return []beam.PCollection{Lines(s, input)}
	}
	s = s.Scope("ReadInput")
	out := make([]beam.PCollection, n)
	for i := range out {
		ps := s.Scope(fmt.Sprintf("Part%d", i))
		out[i] = beam.ParDo(ps, &rangeFn{Glob: input, Part: i, Parts: n}, beam.Impulse(ps))
	}
	return out
}

// rangeFn emits the lines of its part of every file the glob matches.
type rangeFn struct {
	Glob  string `json:"glob"`
	Part  int    `json:"part"`
	Parts int    `json:"parts"`
}

func (fn *rangeFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	fs, err := filesystem.New(ctx, fn.Glob)
	if err != nil {
		return fmt.Errorf("read %s: %w", fn.Glob, err)
	}
	defer fs.Close()
	files, err := fs.List(ctx, fn.Glob)
	if err != nil {
		return fmt.Errorf("read %s: %w", fn.Glob, err)
	}
	slices.Sort(files)
	for _, f := range files {
		size, err := fs.Size(ctx, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		r, err := fs.OpenRead(ctx, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		start, end := size*int64(fn.Part)/int64(fn.Parts), size*int64(fn.Part+1)/int64(fn.Parts)
		err = readRange(r, start, end, emit)
		r.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
	}
	return nil
}

// readRange emits the lines of r that start at a byte offset in
// [start, end), as textio.Read splits a file: a reader after the first
// skips the line that holds byte start-1, which the part before reads.
func readRange(r io.Reader, start, end int64, emit func(string)) error {
	if start >= end {
		return nil
	}
	at := int64(0)
	if start > 0 {
		if sk, ok := r.(io.Seeker); ok {
			if _, err := sk.Seek(start-1, io.SeekStart); err != nil {
				return err
			}
		} else if _, err := io.CopyN(io.Discard, r, start-1); err != nil {
			return err
		}
		at = start - 1
	}
	rd := bufio.NewReaderSize(r, 1<<20)
	if start > 0 {
		skip, err := rd.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		at += int64(len(skip))
	}
	for at < end {
		line, err := rd.ReadString('\n')
		if err == io.EOF {
			if line != "" {
				emit(line)
			}
			return nil
		}
		if err != nil {
			return err
		}
		at += int64(len(line))
		emit(strings.TrimSuffix(line, "\n"))
	}
	return nil
}
