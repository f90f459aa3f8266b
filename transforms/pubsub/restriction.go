package pubsub

import (
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func init() {
	beam.RegisterType(reflect.TypeOf(Restriction{}))
}

// Restriction is one reader's share of a subscription: a subscription has
// no offsets, so the restriction only counts the batches claimed and says
// whether the reader is finished. A split is always a checkpoint: the
// primary is done, the residual reads on.
type Restriction struct {
	Reader int
	Next   int64
	Done   bool
}

// tracker is the restriction tracker of a reader.
type tracker struct {
	rest Restriction
	err  error
}

func (t *tracker) TryClaim(pos any) bool {
	if t.rest.Done {
		return false
	}
	p := pos.(int64)
	if p < t.rest.Next {
		t.err = fmt.Errorf("pubsub reader %d: claim %d after %d", t.rest.Reader, p, t.rest.Next)
		return false
	}
	t.rest.Next = p + 1
	return true
}

func (t *tracker) GetError() error { return t.err }

func (t *tracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if t.rest.Done {
		return t.rest, nil, nil
	}
	res := t.rest
	t.rest.Done = true
	return t.rest, res, nil
}

// GetProgress reports the batches read and an unknown, non-zero remainder.
func (t *tracker) GetProgress() (done, remaining float64) {
	if t.rest.Done {
		return float64(t.rest.Next), 0
	}
	return float64(t.rest.Next), 1
}

func (t *tracker) IsDone() bool        { return t.rest.Done || t.err != nil }
func (t *tracker) GetRestriction() any { return t.rest }
func (t *tracker) IsBounded() bool     { return t.rest.Done }
func (t *tracker) stop()               { t.rest.Done = true }
