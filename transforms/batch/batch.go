// Package batch gathers a bundle's events by key into framed batches
// before a GroupByKey: combiner lifting by hand. A runner's cost is per
// element far more than per byte, so a shuffle of one batch per key and
// bundle is much cheaper than one of every event.
package batch

import (
	"encoding/binary"
	"errors"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// MaxBytes bounds the encoded events a Batcher holds before it asks to be
// flushed, so that a bundle of a whole file does not hold the file.
const MaxBytes = 32 << 20

// Part is one key's batch: events framed by event.AppendFramed.
type Part struct {
	// MinTS is the earliest element timestamp added (Unix ms): a batch
	// stamped with it is no later than any of its events, and, when every
	// event of a key shares one window, in that window.
	MinTS int64
	Data  []byte
}

// Batcher gathers events per key. The zero value is ready to use.
type Batcher[K comparable] struct {
	// Stamped writes each event's element timestamp (a varint) before
	// it, for EachStamped: for batches whose events need their own
	// timestamps back, which need not be their event times.
	Stamped bool

	parts map[K]*Part
	size  int
}

// Add appends e, whose element timestamp is ts, to k's batch and reports
// whether the Batcher holds MaxBytes or more and should be flushed.
func (b *Batcher[K]) Add(k K, ts int64, e *event.Event) (full bool) {
	if b.parts == nil {
		b.parts = make(map[K]*Part)
	}
	p := b.parts[k]
	if p == nil {
		p = &Part{MinTS: ts}
		b.parts[k] = p
	}
	p.MinTS = min(p.MinTS, ts)
	n := len(p.Data)
	if b.Stamped {
		p.Data = binary.AppendVarint(p.Data, ts)
	}
	p.Data = e.AppendFramed(p.Data)
	b.size += len(p.Data) - n
	return b.size >= MaxBytes
}

// Flush hands every batch to emit and forgets them.
func (b *Batcher[K]) Flush(emit func(k K, p Part)) {
	for k, p := range b.parts {
		emit(k, *p)
	}
	clear(b.parts)
	b.size = 0
}

// Start is the start of the size-long span of time (Unix ms) that holds t:
// the fixed window or bucket a batch of t's events belongs to.
func Start(t, size int64) int64 { return t - ((t%size)+size)%size }

// Each calls f with every framed encoding of data, in order, and stops at
// the first error, from f or from corrupt framing.
func Each(data []byte, f func(enc []byte) error) error {
	for len(data) > 0 {
		enc, rest, err := event.NextFramed(data)
		if err != nil {
			return err
		}
		if err := f(enc); err != nil {
			return err
		}
		data = rest
	}
	return nil
}

var errStamp = errors.New("batch: corrupt timestamp")

// EachStamped is Each for a Stamped Batcher's batches: f also gets each
// event's element timestamp.
func EachStamped(data []byte, f func(ts int64, enc []byte) error) error {
	for len(data) > 0 {
		ts, k := binary.Varint(data)
		if k <= 0 {
			return errStamp
		}
		enc, rest, err := event.NextFramed(data[k:])
		if err != nil {
			return err
		}
		if err := f(ts, enc); err != nil {
			return err
		}
		data = rest
	}
	return nil
}
