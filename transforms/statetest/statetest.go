// Package statetest serves Beam user state from memory, for unit tests of
// the logic of stateful DoFns: Value and Bag state through the SDK's
// state.Provider, with snapshots to roll a failed bundle back, and a
// timers.Provider that records the timers set. Pipelines
// are tested on prism; this reaches what prism will not do on demand
// (a retried bundle, a worker whose copy of state is stale).
package statetest

import (
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
)

// Store is one key's committed Value and Bag state. A Bag is returned in
// reverse order of addition: runners do not promise any order, and a
// test should not pass by relying on one.
type Store struct {
	state.Provider // the state kinds not served here panic

	values map[string]any
	bags   map[string][]any

	// BagReads and BagAdds count the Bag requests served.
	BagReads, BagAdds int
}

// New returns an empty Store.
func New() *Store { return &Store{values: map[string]any{}, bags: map[string][]any{}} }

// ReadValueState implements state.Provider.
func (s *Store) ReadValueState(id string) (any, []state.Transaction, error) {
	return s.values[id], nil, nil
}

// WriteValueState implements state.Provider.
func (s *Store) WriteValueState(t state.Transaction) error {
	s.values[t.Key] = t.Val
	return nil
}

// ClearValueState implements state.Provider.
func (s *Store) ClearValueState(t state.Transaction) error {
	delete(s.values, t.Key)
	return nil
}

// ReadBagState implements state.Provider.
func (s *Store) ReadBagState(id string) ([]any, []state.Transaction, error) {
	s.BagReads++
	b := slices.Clone(s.bags[id])
	slices.Reverse(b)
	return b, nil, nil
}

// WriteBagState implements state.Provider.
func (s *Store) WriteBagState(t state.Transaction) error {
	s.BagAdds++
	s.bags[t.Key] = append(s.bags[t.Key], t.Val)
	return nil
}

// ClearBagState implements state.Provider.
func (s *Store) ClearBagState(t state.Transaction) error {
	delete(s.bags, t.Key)
	return nil
}

// Set replaces a state's content: a Value's with v, a Bag's with the
// elements of v if it is a []any.
func (s *Store) Set(id string, v any) {
	if b, ok := v.([]any); ok {
		s.bags[id] = b
		return
	}
	s.values[id] = v
}

// Len returns the number of elements in a Bag.
func (s *Store) Len(id string) int { return len(s.bags[id]) }

// Snapshot returns a copy of the state, for Restore.
func (s *Store) Snapshot() *Store {
	c := New()
	for k, v := range s.values {
		c.values[k] = v
	}
	for k, v := range s.bags {
		c.bags[k] = slices.Clone(v)
	}
	return c
}

// Restore rolls the state back to a snapshot, as a runner does when a
// bundle fails.
func (s *Store) Restore(c *Store) {
	c = c.Snapshot() // c stays usable
	s.values, s.bags = c.values, c.bags
}

// Timers records the event times of the timers a DoFn sets: a
// timers.Provider for calling OnTimer-bearing DoFns directly.
type Timers map[int64]bool

// Set implements timers.Provider.
func (t Timers) Set(m timers.TimerMap) { t[int64(m.FireTimestamp)] = true }
