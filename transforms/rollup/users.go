package rollup

import (
	"unsafe"

	"github.com/axiomhq/hyperloglog"
	metro "github.com/dgryski/go-metro"
)

// ExactUsers is the number of distinct users counted exactly. Above it,
// Users switches to a HyperLogLog sketch (axiomhq/hyperloglog: precision 14,
// sparse representation, LogLog-Beta bias correction; standard error about
// 0.8%), so memory per key and window stays bounded.
const ExactUsers = 1000

// hashSeed is the seed the sketch library hashes with, so that exact
// hashes can be replayed into a sketch.
const hashSeed = 1337

// Users counts distinct users: exactly (as 64-bit hashes, where a collision
// needs billions of users) up to ExactUsers, then approximately.
type Users struct {
	set    map[uint64]struct{}
	sketch *hyperloglog.Sketch
}

// Add counts user id.
func (u *Users) Add(id string) {
	u.addHash(metro.Hash64(unsafe.Slice(unsafe.StringData(id), len(id)), hashSeed))
}

func (u *Users) addHash(h uint64) {
	if u.sketch != nil {
		u.sketch.InsertHash(h)
		return
	}
	if u.set == nil {
		u.set = make(map[uint64]struct{}, 4)
	}
	u.set[h] = struct{}{}
	if len(u.set) > ExactUsers {
		u.toSketch()
	}
}

func (u *Users) toSketch() {
	u.sketch = hyperloglog.New14()
	for h := range u.set {
		u.sketch.InsertHash(h)
	}
	u.set = nil
}

// Merge adds the users of o to u.
func (u *Users) Merge(o *Users) {
	if o.sketch != nil {
		if u.sketch == nil {
			u.toSketch()
		}
		// Both sketches have precision 14, the only case Merge rejects.
		_ = u.sketch.Merge(o.sketch)
		return
	}
	for h := range o.set {
		u.addHash(h)
	}
}

// Count returns the number of distinct users, exact when Exact.
func (u *Users) Count() int64 {
	if u.sketch != nil {
		return int64(u.sketch.Estimate())
	}
	return int64(len(u.set))
}

// Exact reports whether Count is exact.
func (u *Users) Exact() bool { return u.sketch == nil }
