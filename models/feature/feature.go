// Package feature turns named event attributes into sparse hashed feature
// vectors, Vowpal Wabbit style, without allocating per event.
//
// # Hash
//
// A feature's key is "name=value" for a categorical attribute and "name"
// for a numeric one. Its raw hash r is the 32-bit FNV-1a of the key's bytes
// (offset basis 2166136261, prime 16777619), and its index is
//
//	fmix32(r) & (2^bits − 1)
//
// where fmix32 is MurmurHash3's 32-bit finaliser (h ^= h>>16; h *= 0x85ebca6b;
// h ^= h>>13; h *= 0xc2b2ae35; h ^= h>>16), which spreads FNV's weak low
// bits over the mask. The pairwise interaction of features a and b has raw
// hash r_a·16777619 ⊕ r_b (Vowpal Wabbit's quadratic combination, taken
// mod 2^32) and value v_a·v_b. The bias feature has key "Constant" and
// value 1. These definitions are stable: changing them invalidates every
// stored model.
//
// Feature names are global: the group a feature is added under only
// decides which interactions it takes part in, so two groups that need
// distinct weights for the same name should prefix it.
package feature

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models"
)

// MaxBits is the largest index width: 2^30 weights.
const MaxBits = 30

const (
	offset32 = 2166136261
	prime32  = 16777619
)

// BiasKey is the key of the bias feature.
const BiasKey = "Constant"

func fnvString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime32
	}
	return h
}

// Hash returns the raw hash of a key: 32-bit FNV-1a.
func Hash(key string) uint32 { return fnvString(offset32, key) }

// HashPair returns the raw hash of the key name + "=" + value without
// building the string.
func HashPair(name, value string) uint32 {
	h := fnvString(offset32, name)
	h ^= '='
	h *= prime32
	return fnvString(h, value)
}

// Cross returns the raw hash of the interaction of raw hashes a and b.
func Cross(a, b uint32) uint32 { return a*prime32 ^ b }

// Fmix32 is MurmurHash3's finaliser.
func Fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Index maps a raw hash to a feature index below 2^bits.
func Index(raw uint32, bits int) uint32 { return Fmix32(raw) & (1<<bits - 1) }

// Config configures a Builder.
type Config struct {
	Bits int // index width, 1..MaxBits, like VW's -b; the learner's Dim is 1<<Bits
	// Interactions lists pairs of group names whose features are crossed,
	// like VW's -q. A group crossed with itself yields each unordered pair
	// of distinct features once.
	Interactions [][2]string
	Bias         bool // add the bias feature
}

// Group identifies a named group of features; see Builder.Group.
type Group int

type raw struct {
	h uint32
	v float64
}

type group struct {
	name  string
	feats []raw // kept only for crossed groups
	cross bool
}

// Builder fills a sparse Vector with hashed features. After warm-up it
// does not allocate. A Builder is not safe for concurrent use.
type Builder struct {
	bits   int
	mask   uint32
	bias   bool
	pairs  [][2]Group
	groups []group
	vec    models.Vector
}

// New returns a Builder.
func New(c Config) (*Builder, error) {
	if c.Bits < 1 || c.Bits > MaxBits {
		return nil, fmt.Errorf("feature: Bits %d out of range [1, %d]", c.Bits, MaxBits)
	}
	b := &Builder{bits: c.Bits, mask: 1<<c.Bits - 1, bias: c.Bias}
	for _, p := range c.Interactions {
		ga, gb := b.Group(p[0]), b.Group(p[1])
		b.groups[ga].cross, b.groups[gb].cross = true, true
		b.pairs = append(b.pairs, [2]Group{ga, gb})
	}
	b.vec.Reset()
	return b, nil
}

// Bits returns the index width.
func (b *Builder) Bits() int { return b.bits }

// Dim returns 2^Bits, the weight count a learner fed by b needs.
func (b *Builder) Dim() int { return 1 << b.bits }

// Group returns the id of the named group, creating it on first use. Look
// groups up once, outside the per-event path.
func (b *Builder) Group(name string) Group {
	for i := range b.groups {
		if b.groups[i].name == name {
			return Group(i)
		}
	}
	b.groups = append(b.groups, group{name: name})
	return Group(len(b.groups) - 1)
}

// Reset starts a new vector.
func (b *Builder) Reset() {
	b.vec.Reset()
	for i := range b.groups {
		b.groups[i].feats = b.groups[i].feats[:0]
	}
}

func (b *Builder) add(g Group, h uint32, v float64) {
	b.vec.Append(Fmix32(h)&b.mask, v)
	if gr := &b.groups[g]; gr.cross {
		gr.feats = append(gr.feats, raw{h, v})
	}
}

// Categorical adds the feature name=value with value 1.
func (b *Builder) Categorical(g Group, name, value string) { b.add(g, HashPair(name, value), 1) }

// Numeric adds the feature name with value v. Zero and non-finite values
// are skipped: a zero contributes nothing, and NaN or ±Inf would poison
// the weights.
func (b *Builder) Numeric(g Group, name string, v float64) {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	b.add(g, Hash(name), v)
}

// Vector appends the interactions and the bias and returns the vector. It
// aliases the Builder's buffers and is valid until the next Reset.
func (b *Builder) Vector() models.Vector {
	for _, p := range b.pairs {
		fa, fb := b.groups[p[0]].feats, b.groups[p[1]].feats
		for i, a := range fa {
			start := 0
			if p[0] == p[1] {
				start = i + 1
			}
			for _, c := range fb[start:] {
				b.vec.Append(Fmix32(Cross(a.h, c.h))&b.mask, a.v*c.v)
			}
		}
	}
	if b.bias {
		b.vec.Append(Fmix32(Hash(BiasKey))&b.mask, 1)
	}
	return b.vec
}
