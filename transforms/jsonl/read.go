package jsonl

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Read returns the rows of a table that Write wrote to dir (DIR/<table>),
// decoded into T, in no particular order. It is for tests and tools that
// check or summarise an output directory.
func Read[T any](dir string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var rows []T
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		sc := bufio.NewScanner(fd)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				fd.Close()
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			rows = append(rows, r)
		}
		err = sc.Err()
		fd.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
	}
	return rows, nil
}
