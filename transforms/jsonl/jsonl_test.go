package jsonl

import (
	"context"
	"os"
	"slices"
	"testing"
)

type row struct {
	N int `json:"n"`
}

// A bundle's rows appear as one file when it finishes, not before; a
// bundle that fails half-way leaves no file behind, and its retry writes
// the rows once.
func TestWriteFileAtATime(t *testing.T) {
	dir := t.TempDir()
	fn := &writeFn{Dir: dir}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	visible := func() []string {
		var names []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	bundle := func(rows ...int) {
		fn.StartBundle(ctx)
		for _, n := range rows {
			if err := fn.ProcessElement(ctx, row{n}); err != nil {
				t.Fatal(err)
			}
		}
	}
	bundle(1, 2)
	if names := visible(); len(names) != 1 || names[0][0] != '.' {
		t.Fatalf("before FinishBundle the folder holds %v, want one hidden temporary file", names)
	}
	// The bundle fails: the runner retries its rows in a new bundle.
	bundle(1, 2, 3)
	if err := fn.FinishBundle(ctx); err != nil {
		t.Fatal(err)
	}
	fn.Teardown()
	names := visible()
	if len(names) != 1 {
		t.Fatalf("after the retried bundle the folder holds %v, want one part", names)
	}
	got, err := Read[row](dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, r := range got {
		ns = append(ns, r.N)
	}
	if !slices.Equal(ns, []int{1, 2, 3}) {
		t.Errorf("rows %v, want [1 2 3]", ns)
	}
}
