package event

import (
	"encoding/binary"
	"errors"
	"math"
)

// binaryVersion leads every binary encoding so that a runner holding old
// encodings (a streaming update) can tell them apart.
const binaryVersion = 1

const (
	flagWatch = 1 << iota
	flagDuration
	flagAmount
	flagLabel
)

var errShort = errors.New("decode binary event: truncated or corrupt input")

// AppendBinary appends a compact binary encoding of e, for coders between
// pipeline stages, and returns the extended buffer.
func (e *Event) AppendBinary(b []byte) []byte {
	var flags byte
	if e.HasWatch {
		flags |= flagWatch
	}
	if e.HasDuration {
		flags |= flagDuration
	}
	if e.HasAmount {
		flags |= flagAmount
	}
	if e.HasLabel {
		flags |= flagLabel
	}
	b = append(b, binaryVersion, byte(e.Action), flags)
	b = binary.AppendVarint(b, e.EventTime)
	for _, s := range [...]string{e.EventID, e.UserID, e.ItemID, e.Category, e.Device, e.Region, e.Text} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if flags&flagWatch != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.WatchSeconds))
	}
	if flags&flagDuration != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.DurationSeconds))
	}
	if flags&flagAmount != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Amount))
	}
	if flags&flagLabel != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Label))
	}
	b = binary.AppendUvarint(b, uint64(len(e.Features)))
	for k, v := range e.Features {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// MarshalBinary encodes e with AppendBinary.
func (e *Event) MarshalBinary() ([]byte, error) { return e.AppendBinary(make([]byte, 0, 128)), nil }

// UnmarshalBinary decodes what AppendBinary wrote. Corrupt input yields an
// error, never a panic.
func (e *Event) UnmarshalBinary(b []byte) error {
	*e = Event{}
	if len(b) < 3 || b[0] != binaryVersion {
		return errShort
	}
	flags := b[2]
	e.Action = Action(b[1])
	r := reader{b: b[3:]}
	e.EventTime = r.varint()
	for _, s := range [...]*string{&e.EventID, &e.UserID, &e.ItemID, &e.Category, &e.Device, &e.Region, &e.Text} {
		*s = r.str()
	}
	e.HasWatch, e.HasDuration = flags&flagWatch != 0, flags&flagDuration != 0
	e.HasAmount, e.HasLabel = flags&flagAmount != 0, flags&flagLabel != 0
	if e.HasWatch {
		e.WatchSeconds = r.float()
	}
	if e.HasDuration {
		e.DurationSeconds = r.float()
	}
	if e.HasAmount {
		e.Amount = r.float()
	}
	if e.HasLabel {
		e.Label = r.float()
	}
	n := r.uvarint()
	// Each feature takes at least 9 bytes, which bounds n before allocating.
	if n > uint64(len(r.b))/9 {
		return errShort
	}
	if n > 0 {
		e.Features = make(map[string]float64, n)
		for range n {
			k := r.str()
			e.Features[k] = r.float()
		}
	}
	if r.bad || len(r.b) != 0 {
		*e = Event{}
		return errShort
	}
	return nil
}

// reader consumes a binary encoding, remembering the first failure so that
// callers check once at the end.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) float() float64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// BinaryID returns the event_id of an encoding AppendBinary wrote, without
// decoding the rest: a view of b, not a copy.
func BinaryID(b []byte) ([]byte, error) {
	if len(b) < 3 || b[0] != binaryVersion {
		return nil, errShort
	}
	_, n := binary.Varint(b[3:])
	if n <= 0 {
		return nil, errShort
	}
	b = b[3+n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil, errShort
	}
	return b[n : n+int(l)], nil
}

// AppendFramed appends e's binary encoding preceded by its length as a
// uvarint: the framing of event batches, which NextFramed splits.
func (e *Event) AppendFramed(b []byte) []byte {
	n := len(b)
	b = append(b, 0, 0) // room for the usual two-byte length
	b = e.AppendBinary(b)
	size := len(b) - n - 2
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(size))
	switch {
	case h == 2:
	case h < 2:
		copy(b[n+h:], b[n+2:])
		b = b[:len(b)-(2-h)]
	default:
		b = append(b, hdr[:h-2]...)
		copy(b[n+h:], b[n+2:n+2+size])
	}
	copy(b[n:], hdr[:h])
	return b
}

// NextFramed splits the first of the encodings AppendFramed wrote off b.
func NextFramed(b []byte) (enc, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
