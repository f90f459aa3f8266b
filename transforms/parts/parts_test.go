package parts_test

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/pulse-analytics/pulse/transforms/parts"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func upper(s string) string { return strings.ToUpper(s) }

func kv(k string) (string, []byte) { return k, []byte(k) }

func keyOf(k string, _ []byte) string { return k }

func init() {
	register.Function1x1(upper)
	register.Function1x2(kv)
	register.Function2x1(keyOf)
}

// Apply maps every part and flattens the results; one part is mapped in
// the caller's scope, several each in a scope of its own.
func TestApply(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	ins := []beam.PCollection{beam.Create(s, "a", "b"), beam.Create(s, "c"), beam.Create(s, "d", "e")}
	var scopes []string
	f := func(s beam.Scope, in beam.PCollection) beam.PCollection {
		scopes = append(scopes, s.String())
		return beam.ParDo(s, upper, in)
	}
	passert.Equals(s, parts.Apply(s.Scope("Many"), ins, f), "A", "B", "C", "D", "E")
	passert.Equals(s, parts.Apply(s.Scope("One"), ins[:1], f), "A", "B")
	ptest.RunAndValidate(t, p)
	want := []string{"root/Many/Part0", "root/Many/Part1", "root/Many/Part2", "root/One"}
	if strings.Join(scopes, " ") != strings.Join(want, " ") {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
}

// Each hands every part to the sink, in the scopes Apply uses.
func TestEach(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	ins := []beam.PCollection{beam.Create(s, "a"), beam.Create(s, "b", "c")}
	var scopes []string
	sink := func(s beam.Scope, in beam.PCollection) {
		scopes = append(scopes, s.String())
		passert.Count(s, in, "rows", len(scopes))
	}
	parts.Each(s.Scope("Many"), ins, sink)
	parts.Each(s.Scope("One"), ins[1:], func(s beam.Scope, in beam.PCollection) {
		scopes = append(scopes, s.String())
		passert.Equals(s, in, "b", "c")
	})
	ptest.RunAndValidate(t, p)
	want := []string{"root/Many/Part0", "root/Many/Part1", "root/One"}
	if strings.Join(scopes, " ") != strings.Join(want, " ") {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
}

// ByKey puts every element in exactly one part, a key's elements all in
// the same one; numbered keys by their shard.
func TestByKey(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	kvs := []string{"a\x000", "a\x001", "b\x002", "b\x003", "7", "a\x001"}
	in := beam.ParDo(s, kv, beam.CreateList(s, kvs))
	ps := parts.ByKey(s.Scope("Numbered"), 2, true, in)
	if len(ps) != 2 {
		t.Fatalf("%d parts, want 2", len(ps))
	}
	keys := func(s beam.Scope, col beam.PCollection) beam.PCollection { return beam.ParDo(s, keyOf, col) }
	passert.Equals(s, keys(s, ps[0]), "a\x000", "b\x002")
	passert.Equals(s, keys(s, ps[1]), "a\x001", "b\x003", "7", "a\x001")
	hashed := parts.ByKey(s.Scope("Hashed"), 3, false, in)
	passert.Equals(s, keys(s, beam.Flatten(s, hashed...)), "a\x000", "a\x001", "b\x002", "b\x003", "7", "a\x001")
	if one := parts.ByKey(s.Scope("One"), 1, true, in); len(one) != 1 || one[0] != in {
		t.Error("one part is not the input itself")
	}
	ptest.RunAndValidate(t, p)
}
