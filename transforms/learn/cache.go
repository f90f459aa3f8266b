package learn

import (
	"bytes"

	"github.com/pulse-analytics/pulse/transforms/spec"
)

// MaxCachedTrainers bounds the decoded trainers a trainer DoFn instance
// keeps between firings (a 2^18-weight FTRL model holds 4 MB).
const MaxCachedTrainers = 64

// trainerCache keeps each key's decoded trainer beside the exact bytes it
// was encoded to, so that a firing whose Value state still holds those
// bytes skips decoding: decoding a hashed model allocates and fills its
// whole weight table, at every firing of every key.
//
// The state bytes are the only authority. A bundle that fails after a
// firing wrote its state is retried with the state rolled back; the bytes
// read then differ from the cached ones and the trainer is decoded again.
// take removes the entry, so a firing that fails half-way (its trainer
// mutated, its state not written) leaves nothing behind; put stores it
// again once the new state is written. Equal bytes decode to an equal
// trainer (encode is deterministic), so a hit is exactly a decode.
type trainerCache struct {
	m map[string]cachedTrainer
	// hits and misses count take's results, for tests.
	hits, misses int64
}

type cachedTrainer struct {
	enc []byte
	t   *trainer
}

// take returns key's trainer as decoded from st, from the cache when st
// holds the bytes last put for key, and removes key from the cache.
func (c *trainerCache) take(m *spec.Model, key string, st []byte) (*trainer, error) {
	e, ok := c.m[key]
	if ok {
		delete(c.m, key)
		if len(st) > 0 && bytes.Equal(e.enc, st) {
			c.hits++
			return e.t, nil
		}
	}
	c.misses++
	return decodeTrainer(m, st)
}

// put records t as key's trainer, encoded to enc (the bytes just written
// to its state).
func (c *trainerCache) put(key string, enc []byte, t *trainer) {
	if c.m == nil {
		c.m = map[string]cachedTrainer{}
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= MaxCachedTrainers {
		for k := range c.m { // any one: keys are few or unordered anyway
			delete(c.m, k)
			break
		}
	}
	c.m[key] = cachedTrainer{enc: enc, t: t}
}
