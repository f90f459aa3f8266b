package rollup

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/axiomhq/hyperloglog"
)

// The accumulator crosses the shuffle after combiner lifting; a hand-made
// encoding keeps that cheap and lets the user set travel as bare hashes.

var errCorrupt = errors.New("decode rollup metrics: corrupt input")

func encodeMetrics(m Metrics) ([]byte, error) {
	b := make([]byte, 0, 64+8*len(m.Users.set))
	b = binary.AppendUvarint(b, uint64(len(m.Category)))
	b = append(b, m.Category...)
	for _, n := range m.Actions {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = binary.AppendVarint(b, m.WatchMicros)
	b = binary.AppendUvarint(b, uint64(m.WatchedView))
	b = binary.AppendVarint(b, m.AmountMicros)
	if m.Users.sketch != nil {
		b = append(b, 1)
		return m.Users.sketch.AppendBinary(b)
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(m.Users.set)))
	// Sorted so that equal accumulators encode to equal bytes.
	hs := make([]uint64, 0, len(m.Users.set))
	for h := range m.Users.set {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return b, nil
}

func decodeMetrics(b []byte) (Metrics, error) {
	var m Metrics
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return m, errCorrupt
	}
	b = b[k:]
	m.Category, b = string(b[:n]), b[n:]
	for i := range m.Actions {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return m, errCorrupt
		}
		m.Actions[i], b = int64(v), b[k:]
	}
	w, k := binary.Varint(b)
	if k <= 0 {
		return m, errCorrupt
	}
	m.WatchMicros, b = w, b[k:]
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return m, errCorrupt
	}
	m.WatchedView, b = int64(v), b[k:]
	a, k := binary.Varint(b)
	if k <= 0 || len(b) <= k {
		return m, errCorrupt
	}
	m.AmountMicros, b = a, b[k:]
	kind, b := b[0], b[1:]
	if kind == 1 {
		sk, err := decodeSketch(b)
		if err != nil {
			return m, err
		}
		m.Users.sketch = sk
		return m, nil
	}
	n, k = binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k)/8 {
		return m, errCorrupt
	}
	b = b[k:]
	if n > 0 {
		m.Users.set = make(map[uint64]struct{}, n)
	}
	for range n {
		m.Users.set[binary.LittleEndian.Uint64(b)] = struct{}{}
		b = b[8:]
	}
	if len(b) != 0 {
		return m, errCorrupt
	}
	return m, nil
}

// decodeSketch decodes a sketch; the library panics on some truncated
// inputs, so that becomes an error here.
func decodeSketch(b []byte) (sk *hyperloglog.Sketch, err error) {
	defer func() {
		if recover() != nil {
			sk, err = nil, errCorrupt
		}
	}()
	sk = hyperloglog.New14()
	if err := sk.UnmarshalBinary(b); err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return sk, nil
}
