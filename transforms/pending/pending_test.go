package pending

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/statetest"
)

// ref is the queue's specification: a list of (due, payload) in arrival
// order; take removes the due ones, stably sorted by due.
type ref struct{ items []item }

type item struct {
	due int64
	pay string
}

func (r *ref) add(due int64, p string) { r.items = append(r.items, item{due, p}) }

func (r *ref) take(ts int64) []string {
	var due []item
	r.items = slices.DeleteFunc(r.items, func(it item) bool {
		if it.due <= ts {
			due = append(due, it)
			return true
		}
		return false
	})
	slices.SortStableFunc(due, func(a, b item) int { return cmp.Compare(a.due, b.due) })
	out := []string{}
	for _, it := range due {
		out = append(out, it.pay)
	}
	return out
}

func (r *ref) peek() []string {
	saved := slices.Clone(r.items)
	defer func() { r.items = saved }()
	return r.take(1<<62 - 1)
}

func strs(bs [][]byte) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestTakeReturnsDueEntriesByDueThenArrival(t *testing.T) {
	tests := []struct {
		name string
		adds []item
		ts   int64
		want []string
		left int
	}{
		{"nothing due", []item{{10, "a"}, {20, "b"}}, 9, []string{}, 2},
		{"due is inclusive", []item{{10, "a"}, {20, "b"}}, 10, []string{"a"}, 1},
		{"by due", []item{{30, "c"}, {10, "a"}, {20, "b"}}, 30, []string{"a", "b", "c"}, 0},
		{"ties by arrival", []item{{10, "x"}, {5, "y"}, {10, "z"}, {10, "w"}}, 10, []string{"y", "x", "z", "w"}, 0},
		{"negative times", []item{{-5, "a"}, {0, "b"}}, -1, []string{"a"}, 1},
		{"empty payload", []item{{1, ""}}, 1, []string{""}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s, q := statetest.New(), Make("p"), &Queue{}
			for _, a := range tt.adds {
				if err := q.Add(st, s, "k", a.due, []byte(a.pay)); err != nil {
					t.Fatal(err)
				}
			}
			got, _, err := q.Take(st, s, "k", tt.ts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(strs(got), tt.want) {
				t.Errorf("took %q, want %q", strs(got), tt.want)
			}
			rest, _, err := (&Queue{}).Take(st, s, "k", 1<<62)
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) != tt.left {
				t.Errorf("%d entries left in state, want %d", len(rest), tt.left)
			}
		})
	}
}

// A Queue that keeps its copy, one that always reads state, and a bundle
// retried from rolled-back state all behave as the specification, on
// random interleavings of adds and takes over several keys.
func TestQueueMatchesSpecificationThroughMissesAndRollbacks(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := Make("p")
		cached := &Queue{}
		refs, stores := map[string]*ref{}, map[string]*statetest.Store{} // state is per key
		var clock int64
		for step := 0; step < 400; step++ {
			key := fmt.Sprint("k", rng.IntN(3))
			if refs[key] == nil {
				refs[key], stores[key] = &ref{}, statetest.New()
			}
			st := stores[key]
			q := cached
			if rng.IntN(5) == 0 {
				q = &Queue{} // another worker: no copy
			}
			// A bundle that fails after its writes: state rolls back, the
			// cached copy does not.
			if rng.IntN(6) == 0 {
				before := st.Snapshot()
				if rng.IntN(2) == 0 {
					if err := q.Add(st, s, key, clock+rng.Int64N(50), []byte("lost")); err != nil {
						t.Fatal(err)
					}
				} else if _, _, err := q.Take(st, s, key, clock); err != nil {
					t.Fatal(err)
				}
				st.Restore(before)
				continue
			}
			if rng.IntN(3) > 0 {
				var items []Item
				for i := range 1 + rng.IntN(3) {
					p := fmt.Sprintf("s%d-%d-%d", seed, step, i)
					due := clock - 5 + rng.Int64N(60) // some late, some ahead
					refs[key].add(due, p)
					items = append(items, Item{Due: due, Payload: []byte(p)})
				}
				if err := q.AddAll(st, s, key, items); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if rng.IntN(4) == 0 {
				got, err := q.Peek(st, s, key)
				if err != nil {
					t.Fatal(err)
				}
				if want := refs[key].peek(); !slices.Equal(strs(got), want) {
					t.Fatalf("seed %d step %d key %s peek = %q, want %q", seed, step, key, strs(got), want)
				}
				continue
			}
			clock += rng.Int64N(10)
			got, _, err := q.Take(st, s, key, clock)
			if err != nil {
				t.Fatal(err)
			}
			if want := refs[key].take(clock); !slices.Equal(strs(got), want) {
				t.Fatalf("seed %d step %d key %s take(%d) = %q, want %q", seed, step, key, clock, strs(got), want)
			}
		}
	}
}

// The point of the package: taking entries one timer at a time reads the
// Bag once, not at every take, and compaction rewrites O(1) per entry.
func TestBagIsReadOnceAndRewrittenLinearly(t *testing.T) {
	const n = 1000
	st, s, q := statetest.New(), Make("p"), &Queue{}
	for i := range n {
		if err := q.Add(st, s, "k", int64(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh instance, as after a bounded input's GroupByKey: one miss.
	q = &Queue{}
	adds := st.BagAdds
	for i := range n {
		got, _, err := q.Take(st, s, "k", int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0][0] != byte(i) {
			t.Fatalf("take %d: %v", i, got)
		}
	}
	if st.BagReads != 1 || q.Misses != 1 || q.Hits != n-1 {
		t.Errorf("bag read %d times, %d misses, %d hits; want 1, 1, %d", st.BagReads, q.Misses, q.Hits, n-1)
	}
	if rewrites := st.BagAdds - adds; rewrites > n {
		t.Errorf("compaction rewrote %d entries for %d taken", rewrites, n)
	}
	if st.Len("p") != 0 {
		t.Errorf("%d entries left in the bag", st.Len("p"))
	}
}

// Aux is returned while the queue's state is unchanged elsewhere, and
// dropped once it may be stale.
func TestAuxFollowsTheToken(t *testing.T) {
	st, s, q := statetest.New(), Make("p"), &Queue{}
	take := func() any {
		t.Helper()
		_, aux, err := q.Take(st, s, "k", 0)
		if err != nil {
			t.Fatal(err)
		}
		return aux
	}
	if aux := take(); aux != nil {
		t.Fatalf("first take: aux %v", aux)
	}
	q.SetAux("k", "v1")
	if err := q.Add(st, s, "k", 5, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if aux := take(); aux != "v1" {
		t.Fatalf("after an add here: aux %v, want v1", aux)
	}
	q.SetAux("k", "v2")
	before := st.Snapshot()
	take() // a bundle that then fails
	q.SetAux("k", "v3")
	st.Restore(before)
	if aux := take(); aux != nil {
		t.Errorf("after a rollback: aux %v, want nil", aux)
	}
	q.SetAux("k", "v4")
	if aux, err := q.Aux(st, s, "k"); err != nil || aux != "v4" {
		t.Fatalf("Aux = %v, %v; want v4", aux, err)
	}
	if aux, err := q.Aux(st, s, "k"); err != nil || aux != nil {
		t.Fatalf("Aux again = %v, %v; want nil until SetAux", aux, err)
	}
	q.SetAux("k", "v4")
	if err := (&Queue{}).Add(st, s, "k", 5, []byte("y")); err != nil { // another worker
		t.Fatal(err)
	}
	if aux := take(); aux != nil {
		t.Errorf("after another worker's add: aux %v, want nil", aux)
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index []byte
		entry []byte
	}{
		{"short index", []byte{1, 2, 3}, nil},
		{"index trailing bytes", append(encodeIndex(index{token: 9, next: 1, stored: 1}), 0), nil},
		{"index lists more taken than stored", encodeIndex(index{token: 9, stored: 1, taken: []uint64{1, 2}}), nil},
		{"entry without due", encodeIndex(index{token: 9, next: 1, stored: 1}), []byte{0x80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, s := statetest.New(), Make("p")
			st.Set("p_index", tc.index)
			if tc.entry != nil {
				st.Set("p", []any{tc.entry})
			}
			_, _, err := (&Queue{}).Take(st, s, "k", 0)
			if !errors.Is(err, errCorrupt) {
				t.Errorf("err = %v, want corrupt state", err)
			}
		})
	}
}

func TestIndexRoundTrip(t *testing.T) {
	for _, idx := range []index{{token: 1}, {token: 1 << 63, next: 300, stored: 4, taken: []uint64{0, 299, 7}}} {
		got, err := decodeIndex(encodeIndex(idx))
		if err != nil {
			t.Fatal(err)
		}
		if got.token != idx.token || got.next != idx.next || got.stored != idx.stored || !bytes.Equal(encodeIndex(got), encodeIndex(idx)) {
			t.Errorf("round trip %+v -> %+v", idx, got)
		}
	}
}
