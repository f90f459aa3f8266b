package pseudo_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"google.golang.org/protobuf/proto"

	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pseudo"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func summary(e event.Event) string { return e.EventID + "|" + e.UserID + "|" + e.Text }

func init() { beam.RegisterFunction(summary) }

// TestEventsOnPrism runs Events and DeadLetters with the key in a file and
// in a variable: user ids become the pseudonyms that a Pseudonymizer with
// the same key computes, text is gone, and so is the raw id in the dead
// letter.
func TestEventsOnPrism(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pseudo.key")
	if err := os.WriteFile(f, keyA, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_KEY", string(keyA))
	p := mustNew(t, keyA)
	for _, cfg := range []pseudo.Config{{KeyFile: f}, {KeyEnv: "PULSE_TEST_KEY"}} {
		pl, s := beam.NewPipelineWithRoot()
		events := beam.Create(s,
			event.Event{EventID: "e1", UserID: "alice", Text: "call me on 555"},
			event.Event{EventID: "e2", UserID: "bob"},
			event.Event{EventID: "e3", UserID: "alice"})
		out := beam.ParDo(s, summary, pseudo.Events(s, cfg, events))
		passert.Equals(s, out,
			"e1|"+p.UserID("alice")+"|",
			"e2|"+p.UserID("bob")+"|",
			"e3|"+p.UserID("alice")+"|")
		dead := pseudo.DeadLetters(s, cfg, beam.Create(s, deadletter.Row{Raw: `{"user_id":"alice","action":"x"}`, Error: "unknown action"}))
		passert.Equals(s, dead, deadletter.Row{Raw: `{"user_id":"` + p.UserID("alice") + `","action":"x"}`, Error: "unknown action"})
		ptest.RunAndValidate(t, pl)
	}
}

// TestKeepFlags: KeepRawUserIDs and KeepText keep what they say.
func TestKeepFlags(t *testing.T) {
	t.Setenv("PULSE_TEST_KEY", string(keyA))
	pl, s := beam.NewPipelineWithRoot()
	events := beam.Create(s, event.Event{EventID: "e1", UserID: "alice", Text: "hi"})
	kept := pseudo.Events(s, pseudo.Config{KeyEnv: "PULSE_TEST_KEY", KeepRawUserIDs: true, KeepText: true}, events)
	passert.Equals(s, beam.ParDo(s, summary, kept), "e1|alice|hi")
	noKey := pseudo.Events(s, pseudo.Config{}, events)
	passert.Equals(s, beam.ParDo(s, summary, noKey), "e1|alice|")
	ptest.RunAndValidate(t, pl)
}

// TestKeyNotInGraph marshals a pipeline that pseudonymises into the
// portable pipeline proto a runner receives (for Dataflow: the staged job)
// and requires that the key appears nowhere in it, raw or hex.
func TestKeyNotInGraph(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pseudo.key")
	if err := os.WriteFile(f, keyA, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_KEY", string(keyA))
	pl, s := beam.NewPipelineWithRoot()
	events := beam.Create(s, event.Event{EventID: "e1", UserID: "alice"})
	pseudo.Events(s, pseudo.Config{KeyFile: f}, events)
	pseudo.Events(s, pseudo.Config{KeyEnv: "PULSE_TEST_KEY"}, events)
	edges, _, err := pl.Build()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := graphx.Marshal(edges, &graphx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	// A Go DoFn's fields travel as JSON inside a base64-encoded proto in the
	// ParDo payload: decode those too.
	for _, tr := range pb.GetComponents().GetTransforms() {
		var pd pipepb.ParDoPayload
		if tr.GetSpec().GetUrn() != "beam:transform:pardo:v1" || proto.Unmarshal(tr.GetSpec().GetPayload(), &pd) != nil {
			continue
		}
		fn, err := base64.StdEncoding.DecodeString(string(pd.GetDoFn().GetPayload()))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, fn...)
	}
	if !bytes.Contains(b, []byte("PULSE_TEST_KEY")) {
		t.Fatal("the variable's name is not in the graph: the test does not see the DoFn's fields")
	}
	for _, k := range [][]byte{keyA, []byte(hex.EncodeToString(keyA))} {
		if bytes.Contains(b, k) {
			t.Errorf("the key is in the serialised pipeline")
		}
	}
}
