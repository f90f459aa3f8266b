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
