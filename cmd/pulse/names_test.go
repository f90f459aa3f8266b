package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/pulse-analytics/pulse/pipelines/job"
)

// TestTransformNames builds the whole job (--pipeline=all) in batch and
// streaming form and checks the unique name of every transform in the
// pipeline proto, the names Dataflow matches when a streaming job is
// replaced with --update:
//   - unique (the runner requires it);
//   - readable and stable: no order-dependent suffix (the SDK names the
//     second "WindowInto" of a scope "WindowInto'1", so adding a transform
//     above it would rename it), no anonymous functions, and only named
//     composites at the top level;
//   - equal to the committed golden list, so a rename shows up as a diff
//     in review, where it needs a --transform_name_mapping entry for
//     running jobs.
//
// After an intended rename, rewrite the golden files with
//
//	go test ./cmd/pulse/ -run TestTransformNames -update
//
// (-update is the Dataflow runner's flag, which this test binary already
// defines; the test reads it by name.)
func TestTransformNames(t *testing.T) {
	for _, tc := range []struct {
		form      string
		streaming bool
	}{
		{"batch", false},
		{"stream", true},
	} {
		t.Run(tc.form, func(t *testing.T) {
			model := buildJobProto(t, job.All, tc.streaming)
			names := transformNames(model)
			checkUnique(t, names)
			checkReadable(t, model)

			sort.Strings(names)
			got := strings.Join(names, "\n") + "\n"
			golden := filepath.Join("testdata", "transform_names_"+tc.form+".golden")
			if updateGolden() {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transform names differ from %s; a running Dataflow job needs --transform_name_mapping for each rename.\n%s"+
					"If the change is intended, run: go test ./cmd/pulse/ -run TestTransformNames -update",
					golden, lineDiff(string(want), got))
			}
		})
	}
}

// buildJobProto builds the job as pulse would with its default flags and
// returns the portable pipeline proto that every runner receives. The batch
// form reads a file into a directory, as a local run does; the streaming
// form, the one a Dataflow --update replaces, reads a Pub/Sub subscription
// into BigQuery, as a deployed job does. Nothing is contacted: building the
// graph opens no connection.
func buildJobProto(t *testing.T, pipeline string, streaming bool) *pipepb.Pipeline {
	t.Helper()
	dir := t.TempDir()
	cfg := jobConfig() // as main builds it
	cfg.Pipeline, cfg.Input, cfg.Output = pipeline, filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "out")
	if streaming {
		cfg.Input, cfg.Output = "pubsub://projects/pulse-test/subscriptions/events", "bigquery://pulse-test/pulse"
	}

	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	env, err := graphx.CreateEnvironment(context.Background(), graphx.URNEnvDocker,
		func(context.Context) string { return "apache/beam_go_sdk:2.77.0" })
	if err != nil {
		t.Fatal(err)
	}
	model, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	return model
}

func transformNames(model *pipepb.Pipeline) []string {
	var names []string
	for _, tr := range model.GetComponents().GetTransforms() {
		names = append(names, tr.GetUniqueName())
	}
	return names
}

func checkUnique(t *testing.T, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("two transforms are named %q", n)
		}
		seen[n] = true
	}
}

// unreadable matches name segments the SDK generates: an order-dependent
// de-duplication suffix ("WindowInto'1") or an anonymous function
// ("main.func1").
var unreadable = regexp.MustCompile(`'[0-9]+$|\.func[0-9]+$`)

func checkReadable(t *testing.T, model *pipepb.Pipeline) {
	t.Helper()
	for _, tr := range model.GetComponents().GetTransforms() {
		for _, seg := range strings.Split(tr.GetUniqueName(), "/") {
			if unreadable.MatchString(seg) {
				t.Errorf("transform %q: segment %q is generated, not chosen: give it a scope with s.Scope(\"...\")", tr.GetUniqueName(), seg)
			}
		}
	}
	for _, id := range model.GetRootTransformIds() {
		tr := model.GetComponents().GetTransforms()[id]
		if len(tr.GetSubtransforms()) == 0 {
			t.Errorf("top-level transform %q is a bare primitive: wrap it in a named scope", tr.GetUniqueName())
		}
	}
}

// updateGolden reports whether -update was given. The flag is Beam's
// (the Dataflow runner's --update), defined in this binary already.
func updateGolden() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	v, _ := g.Get().(bool)
	return v
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
