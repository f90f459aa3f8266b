package sessions

import (
	"encoding/binary"
	"errors"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// Hits cross the shuffle once per event, so they get a compact encoding: a
// varint time, the 8-byte item hash and the action byte.

var errCorrupt = errors.New("decode session hit: corrupt input")

func encodeHit(h hit) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+9)
	b = binary.AppendVarint(b, h.Time)
	b = binary.LittleEndian.AppendUint64(b, h.Item)
	return append(b, byte(h.Action))
}

func decodeHit(b []byte) (hit, error) {
	t, n := binary.Varint(b)
	if n <= 0 || len(b)-n != 9 {
		return hit{}, errCorrupt
	}
	b = b[n:]
	return hit{Time: t, Item: binary.LittleEndian.Uint64(b), Action: event.Action(b[8])}, nil
}

// encodeHits writes a count and the hits, each as encodeHit does.
func encodeHits(hs hitBatch) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(hs.List)*(binary.MaxVarintLen64/2+9))
	b = binary.AppendUvarint(b, uint64(len(hs.List)))
	for _, h := range hs.List {
		b = binary.AppendVarint(b, h.Time)
		b = binary.LittleEndian.AppendUint64(b, h.Item)
		b = append(b, byte(h.Action))
	}
	return b
}

func decodeHits(b []byte) (hitBatch, error) {
	n, k := binary.Uvarint(b)
	// Each hit takes at least 10 bytes, which bounds n before allocating.
	if k <= 0 || n > uint64(len(b)-k)/10 {
		return hitBatch{}, errCorrupt
	}
	b = b[k:]
	list := make([]hit, n)
	for i := range list {
		t, m := binary.Varint(b)
		if m <= 0 || len(b)-m < 9 {
			return hitBatch{}, errCorrupt
		}
		b = b[m:]
		list[i] = hit{Time: t, Item: binary.LittleEndian.Uint64(b), Action: event.Action(b[8])}
		b = b[9:]
	}
	if len(b) != 0 {
		return hitBatch{}, errCorrupt
	}
	return hitBatch{List: list}, nil
}
