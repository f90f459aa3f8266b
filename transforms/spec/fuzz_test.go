package spec_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/spec"
)

// FuzzParse checks that Parse never panics on any document, that every
// error it returns says "spec:", and that what it accepts is stable: the
// accepted models, each written back as JSON, parse again to the same
// model ID. Parse allocates in proportion to the document, not to
// the declared widths (bits up to 30), which the committed corpus in
// testdata/fuzz/FuzzParse exercises. Run it longer with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 10m ./transforms/spec/
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"models":[{"name":"m","kind":"logistic","label":"label","features":{"categorical":["user_id"]}}]}`,
		`[{"name":"r","kind":"rls","label":"amount","bits":12,"features":{"numeric":["amount"]}}]`,
		`{"models":[{"name":"g","kind":"linear","label":"watch_seconds","bits":30,"variants":[{"name":"a","eta":0.5},{"name":"b"}]}]}`,
		`{"models":[]}`,
		`{"models":[{"name":"x","kind":"logistic","label":"engagement","actions":["view"]}],"extra":1}`,
		`[` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `]`,
		`{"models":[{"name":"n","kind":"linear","label":"amount","eta":1e999}]}`,
		"{\"models\":[{\"name\":\"\xff\",\"kind\":\"linear\",\"label\":\"amount\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := spec.Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec:") {
				t.Fatalf("Parse error %q does not start with spec:", err)
			}
			return
		}
		if len(ms) == 0 {
			t.Fatal("Parse accepted a document with no models")
		}
		seen := map[string]bool{}
		for i := range ms {
			if seen[ms[i].ID()] {
				t.Fatalf("two models with ID %q", ms[i].ID())
			}
			seen[ms[i].ID()] = true
		}
		// An expanded variant keeps its model's name, so each model is
		// written back on its own.
		for i := range ms {
			b, err := json.Marshal([]spec.Model{ms[i]})
			if err != nil {
				t.Fatalf("marshal accepted model: %v", err)
			}
			again, err := spec.Parse(b)
			if err != nil {
				t.Fatalf("accepted model does not parse again: %v\n%s", err, b)
			}
			if len(again) != 1 || again[0].ID() != ms[i].ID() {
				t.Fatalf("model %q is %d models after a round trip", ms[i].ID(), len(again))
			}
		}
	})
}

// TestParseAllocatesInProportionToTheDocument parses hostile documents of
// about 1 MiB: deep nesting, and hundreds of models declaring the widest
// learners (bits 30, 2^30 weights each). Parse must allocate in proportion
// to the document, never to the declared widths: a spec file is read on
// the launcher, which must not need the workers' memory to validate it.
func TestParseAllocatesInProportionToTheDocument(t *testing.T) {
	var wide strings.Builder
	wide.WriteString(`{"models":[`)
	for i := 0; wide.Len() < 1<<20; i++ {
		if i > 0 {
			wide.WriteByte(',')
		}
		fmt.Fprintf(&wide, `{"name":"m%d","kind":"logistic","label":"label","bits":30,"features":{"categorical":["user_id"]},"variants":[{"name":"a"},{"name":"b","alpha":0.5}]}`, i)
	}
	wide.WriteString(`]}`)
	for _, tc := range []struct {
		name   string
		doc    string
		accept bool
	}{
		{"wide models", wide.String(), true},
		{"deep nesting", strings.Repeat("[", 1<<20), false},
		{"deep objects", `{"models":[{"features":` + strings.Repeat(`{"a":`, 1<<18), false},
		{"huge number", `{"models":[{"name":"m","kind":"linear","label":"amount","bits":` + strings.Repeat("9", 1<<20) + `}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ms, err := spec.Parse([]byte(tc.doc))
			runtime.ReadMemStats(&after)
			if (err == nil) != tc.accept {
				t.Fatalf("Parse: %d models, error %v; want accepted = %v", len(ms), err, tc.accept)
			}
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(tc.doc)); got > limit {
				t.Errorf("Parse of %d bytes allocated %d bytes, want at most %d", len(tc.doc), got, limit)
			}
		})
	}
}
