package feature

import (
	"hash/fnv"
	"math"
	"testing"
)

func TestHashIsFNV1a(t *testing.T) {
	for _, k := range []string{"", "a", "country=FR", "user_id=123456789", "Constant"} {
		h := fnv.New32a()
		h.Write([]byte(k))
		if got, want := Hash(k), h.Sum32(); got != want {
			t.Errorf("Hash(%q) = %#x, want FNV-1a %#x", k, got, want)
		}
	}
	if got, want := HashPair("country", "FR"), Hash("country=FR"); got != want {
		t.Errorf("HashPair = %#x, want %#x", got, want)
	}
}

// TestIndexStable pins indices: if this fails, every stored model breaks.
func TestIndexStable(t *testing.T) {
	tests := []struct {
		raw  uint32
		bits int
		want uint32
	}{
		{Hash(""), 32 - 2, Fmix32(0x811c9dc5) & (1<<30 - 1)},
		{0, 18, 0},
		{Hash("a"), 18, 0xb1b3},
		{HashPair("country", "FR"), 18, 0x10daf},
		{Hash("Constant"), 18, 0x3ffb5},
		{Cross(HashPair("country", "FR"), HashPair("device", "ios")), 18, 0x1e6bf},
	}
	if Hash("") != 0x811c9dc5 || Hash("a") != 0xe40c292c {
		t.Fatalf("FNV-1a test vectors: %#x %#x", Hash(""), Hash("a"))
	}
	if Fmix32(1) != 0x514e28b7 {
		t.Fatalf("fmix32(1) = %#x, want MurmurHash3's 0x514e28b7", Fmix32(1))
	}
	for _, tt := range tests {
		if got := Index(tt.raw, tt.bits); got != tt.want {
			t.Errorf("Index(%#x, %d) = %#x, want %#x", tt.raw, tt.bits, got, tt.want)
		}
	}
}

func TestBuilder(t *testing.T) {
	b, err := New(Config{Bits: 18, Interactions: [][2]string{{"user", "item"}, {"item", "item"}}, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	user, item, ctx := b.Group("user"), b.Group("item"), b.Group("ctx")
	for round := 0; round < 2; round++ { // the second round reuses buffers
		b.Reset()
		b.Categorical(user, "country", "FR")
		b.Numeric(user, "age", 31)
		b.Categorical(item, "sku", "42")
		b.Numeric(item, "price", 9.5)
		b.Numeric(ctx, "hour", 0)           // skipped: zero
		b.Numeric(ctx, "load", math.Inf(1)) // skipped: +Inf
		x := b.Vector()
		// 4 features, 2×2 user×item, 1 item×item pair, bias.
		if x.Len() != 4+4+1+1 {
			t.Fatalf("round %d: %d entries, want 10: %v", round, x.Len(), x)
		}
		if err := x.Check(b.Dim()); err != nil {
			t.Fatal(err)
		}
		wantIdx := []uint32{
			Index(HashPair("country", "FR"), 18),
			Index(Hash("age"), 18),
			Index(HashPair("sku", "42"), 18),
			Index(Hash("price"), 18),
			Index(Cross(HashPair("country", "FR"), HashPair("sku", "42")), 18),
			Index(Cross(HashPair("country", "FR"), Hash("price")), 18),
			Index(Cross(Hash("age"), HashPair("sku", "42")), 18),
			Index(Cross(Hash("age"), Hash("price")), 18),
			Index(Cross(HashPair("sku", "42"), Hash("price")), 18),
			Index(Hash(BiasKey), 18),
		}
		wantVal := []float64{1, 31, 1, 9.5, 1, 9.5, 31, 31 * 9.5, 9.5, 1}
		for k := range wantIdx {
			if x.Index[k] != wantIdx[k] || x.Value[k] != wantVal[k] {
				t.Errorf("entry %d = (%#x, %v), want (%#x, %v)", k, x.Index[k], x.Value[k], wantIdx[k], wantVal[k])
			}
		}
	}
	if _, err := New(Config{Bits: 31}); err == nil {
		t.Error("Bits 31 accepted")
	}
}

func TestBuilderNoAlloc(t *testing.T) {
	b, _ := New(Config{Bits: 18, Interactions: [][2]string{{"u", "i"}}, Bias: true})
	u, i := b.Group("u"), b.Group("i")
	fill := func() {
		b.Reset()
		b.Categorical(u, "country", "FR")
		b.Categorical(u, "plan", "pro")
		b.Numeric(i, "price", 3)
		b.Vector()
	}
	fill()
	if n := testing.AllocsPerRun(100, fill); n != 0 {
		t.Errorf("%v allocations per vector, want 0", n)
	}
}
