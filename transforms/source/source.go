// Package source reads raw event payloads from the inputs Pulse accepts.
package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	// Local paths are Pulse's most common input.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
)

// Lines reads the input named by input and returns one raw payload per
// element as a PCollection<string>. A file path or glob is read as JSON
// lines (local files, or any filesystem registered with Beam's fileio).
func Lines(s beam.Scope, input string) beam.PCollection {
	s = s.Scope("ReadInput")
	return textio.Read(s, input)
}

// CheckFiles reports, before a pipeline is built, whether a local path or
// glob names at least one readable file. Remote schemes (gs://, ...) are
// left for the runner to check.
func CheckFiles(input string) error {
	if input == "" {
		return fmt.Errorf("no input given")
	}
	if i := strings.Index(input, "://"); i > 0 {
		return nil
	}
	matches, err := filepath.Glob(input)
	if err != nil {
		return fmt.Errorf("input %q: %w", input, err)
	}
	if len(matches) == 0 {
		return fmt.Errorf("input %q matches no file", input)
	}
	for _, m := range matches {
		f, err := os.Open(m)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		if st.IsDir() {
			return fmt.Errorf("input %s is a directory: give a file or a glob such as %s", m, filepath.Join(m, "*.jsonl"))
		}
	}
	return nil
}
