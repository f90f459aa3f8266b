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

// encodeHits writes the number of users, then per user its id (length
// and bytes), its number of hits and the hits, each as encodeHit does.
func encodeHits(hb hitBatch) []byte {
	size := binary.MaxVarintLen64
	for _, u := range hb.Users {
		size += 2*binary.MaxVarintLen64 + len(u.User) + len(u.Hits)*(binary.MaxVarintLen64+9)
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(hb.Users)))
	for _, u := range hb.Users {
		b = binary.AppendUvarint(b, uint64(len(u.User)))
		b = append(b, u.User...)
		b = binary.AppendUvarint(b, uint64(len(u.Hits)))
		for _, h := range u.Hits {
			b = binary.AppendVarint(b, h.Time)
			b = binary.LittleEndian.AppendUint64(b, h.Item)
			b = append(b, byte(h.Action))
		}
	}
	return b
}

func decodeHits(b []byte) (hitBatch, error) {
	r := hitReader{b: b}
	// A user takes at least 2 bytes and a hit 10, which bounds the counts
	// before allocating.
	n := r.count(2)
	users := make([]userHits, 0, n)
	for range n {
		l := r.count(1)
		if r.bad {
			break
		}
		user := string(r.b[:l])
		r.b = r.b[l:]
		hits := make([]hit, r.count(10))
		for i := range hits {
			t, m := binary.Varint(r.b)
			if m <= 0 || len(r.b)-m < 9 {
				return hitBatch{}, errCorrupt
			}
			r.b = r.b[m:]
			hits[i] = hit{Time: t, Item: binary.LittleEndian.Uint64(r.b), Action: event.Action(r.b[8])}
			r.b = r.b[9:]
		}
		users = append(users, userHits{User: user, Hits: hits})
	}
	if r.bad || len(r.b) != 0 {
		return hitBatch{}, errCorrupt
	}
	return hitBatch{Users: users}, nil
}

// hitReader reads counts, remembering the first failure.
type hitReader struct {
	b   []byte
	bad bool
}

// count reads a uvarint count of items of at least min bytes each.
func (r *hitReader) count(min int) int {
	n, k := binary.Uvarint(r.b)
	if r.bad || k <= 0 || n > uint64(len(r.b)-k)/uint64(min) {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}
