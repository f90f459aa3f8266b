// Package codec is the snapshot encoding shared by every learner in models.
//
// A snapshot is
//
//	magic "PLSM" | version uint16 | kind uint16 | payload | CRC-32C uint32
//
// with every integer and float little-endian and floats stored as their IEEE
// 754 bits, so a decoded learner is bit-identical to the encoded one. The CRC
// (Castagnoli) covers every byte before it and is checked before the payload
// is parsed. The decoder never panics: it records the first error, returns
// zero values afterwards, and bounds every length by the bytes that remain
// before allocating.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// Version is the snapshot format version written by this package.
const Version = 1

const (
	magic      = "PLSM"
	headerSize = 8
	crcSize    = 4
)

// Kind identifies what a snapshot holds. Values are part of the format and
// must never be reused.
type Kind uint16

// Snapshot kinds.
const (
	KindLinReg      Kind = 1
	KindLogReg      Kind = 2
	KindFTRL        Kind = 3
	KindRLS         Kind = 4
	KindOLS         Kind = 5
	KindScaler      Kind = 6
	KindWelford     Kind = 7
	KindMetrics     Kind = 8
	KindPageHinkley Kind = 9
	KindADWIN       Kind = 10
)

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt or unsupported snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaxElems bounds how many float64 values a decoder lets a snapshot's
// header ask for before they are allocated. By default only the learners'
// own config limits apply (a snapshot whose CRC checks was written by a
// learner that held that much); fuzz tests lower it so that re-sealed
// garbage cannot ask for gigabytes.
var MaxElems = math.MaxInt

// CheckElems reports an error if allocating n values is not allowed.
func CheckElems(n int) error {
	if n < 0 || n > MaxElems {
		return fmt.Errorf("%w: %d values exceed the limit %d", ErrCorrupt, n, MaxElems)
	}
	return nil
}

// Encoder appends a snapshot to a byte slice.
type Encoder struct{ buf []byte }

// NewEncoder starts a snapshot of the given kind; sizeHint is the expected
// payload size in bytes.
func NewEncoder(kind Kind, sizeHint int) *Encoder {
	e := &Encoder{buf: make([]byte, 0, headerSize+sizeHint+crcSize)}
	e.buf = append(e.buf, magic...)
	e.buf = binary.LittleEndian.AppendUint16(e.buf, Version)
	e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(kind))
	return e
}

// Finish appends the checksum and returns the snapshot.
func (e *Encoder) Finish() []byte {
	return binary.LittleEndian.AppendUint32(e.buf, crc32.Checksum(e.buf, castagnoli))
}

// U8 appends a byte.
func (e *Encoder) U8(v uint8) { e.buf = append(e.buf, v) }

// Bool appends a boolean as one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.U8(1)
	} else {
		e.U8(0)
	}
}

// U32 appends a uint32.
func (e *Encoder) U32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }

// U64 appends a uint64.
func (e *Encoder) U64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// I64 appends an int64.
func (e *Encoder) I64(v int64) { e.U64(uint64(v)) }

// F64 appends a float64 as its IEEE 754 bits.
func (e *Encoder) F64(v float64) { e.U64(math.Float64bits(v)) }

// F64s appends a length-prefixed slice of float64.
func (e *Encoder) F64s(v []float64) {
	e.U32(uint32(len(v)))
	for _, f := range v {
		e.F64(f)
	}
}

// UpperTriangle appends the upper triangle, diagonal included, of the
// row-major d×d symmetric matrix m: half the bytes of the whole matrix.
func (e *Encoder) UpperTriangle(m []float64, d int) {
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			e.F64(m[i*d+j])
		}
	}
}

// Bytes appends a length-prefixed byte slice.
func (e *Encoder) Bytes(b []byte) {
	e.U32(uint32(len(b)))
	e.buf = append(e.buf, b...)
}

// Rows appends a table of n rows of width float64 values, row(i, j) being
// the j-th value of row i. It writes the table densely or, when that is
// smaller, only the rows with a value other than +0, each as a uvarint gap
// from the previous such row followed by its values.
//
// Learners encode their whole state at every trainer firing of the learn
// job, so this is a hot path: the buffer grows once to the exact size and
// the loops append to a local slice (no write barrier per value).
func (e *Encoder) Rows(n, width int, row func(i, j int) float64) {
	nz := 0
	for i := 0; i < n; i++ {
		if rowNonZero(i, width, row) {
			nz++
		}
	}
	size := 8 * width
	buf := e.buf
	if nz*(size+3) >= n*size {
		buf = slices.Grow(buf, 1+n*size)
		buf = append(buf, 0)
		for i := 0; i < n; i++ {
			for j := 0; j < width; j++ {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(row(i, j)))
			}
		}
		e.buf = buf
		return
	}
	buf = slices.Grow(buf, 5+nz*(size+binary.MaxVarintLen32))
	buf = append(buf, 1)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(nz))
	prev := -1
	for i := 0; i < n; i++ {
		if !rowNonZero(i, width, row) {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i-prev-1))
		prev = i
		for j := 0; j < width; j++ {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(row(i, j)))
		}
	}
	e.buf = buf
}

// Columns appends what Rows(len(cols[0]), len(cols), row) would, row(i,
// j) being cols[j][i], without a call per value: for learners that keep
// their state in parallel slices. Every column must have the same length.
func (e *Encoder) Columns(cols ...[]float64) {
	if len(cols) == 0 {
		e.Rows(0, 0, nil)
		return
	}
	n, width := len(cols[0]), len(cols)
	for _, c := range cols[1:] {
		if len(c) != n {
			panic(fmt.Sprintf("codec: columns of %d and %d values", n, len(c)))
		}
	}
	nonZero := func(i int) bool {
		for _, c := range cols {
			if math.Float64bits(c[i]) != 0 {
				return true
			}
		}
		return false
	}
	nz := 0
	for i := 0; i < n; i++ {
		if nonZero(i) {
			nz++
		}
	}
	size := 8 * width
	buf := e.buf
	if nz*(size+3) >= n*size {
		buf = slices.Grow(buf, 1+n*size)
		buf = append(buf, 0)
		for i := 0; i < n; i++ {
			for _, c := range cols {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(c[i]))
			}
		}
		e.buf = buf
		return
	}
	buf = slices.Grow(buf, 5+nz*(size+binary.MaxVarintLen32))
	buf = append(buf, 1)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(nz))
	prev := -1
	for i := 0; i < n; i++ {
		if !nonZero(i) {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i-prev-1))
		prev = i
		for _, c := range cols {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(c[i]))
		}
	}
	e.buf = buf
}

// Pairs appends what Rows(n, 2, row) would, get(i) returning row i's two
// values: one call per row instead of one per value, for learners that
// keep a pair per coordinate (FTRL's zᵢ and nᵢ).
func (e *Encoder) Pairs(n int, get func(i int) (a, b float64)) {
	nz := 0
	for i := 0; i < n; i++ {
		if a, b := get(i); math.Float64bits(a)|math.Float64bits(b) != 0 {
			nz++
		}
	}
	buf := e.buf
	if nz*(16+3) >= n*16 {
		buf = slices.Grow(buf, 1+n*16)
		buf = append(buf, 0)
		for i := 0; i < n; i++ {
			a, b := get(i)
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(a))
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(b))
		}
		e.buf = buf
		return
	}
	buf = slices.Grow(buf, 5+nz*(16+binary.MaxVarintLen32))
	buf = append(buf, 1)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(nz))
	prev := -1
	for i := 0; i < n; i++ {
		a, b := get(i)
		if math.Float64bits(a)|math.Float64bits(b) == 0 {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i-prev-1))
		prev = i
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(a))
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(b))
	}
	e.buf = buf
}

// rowNonZero reports whether row i holds a value other than +0 (bitwise,
// so -0 and NaN are kept).
func rowNonZero(i, width int, row func(i, j int) float64) bool {
	for j := 0; j < width; j++ {
		if math.Float64bits(row(i, j)) != 0 {
			return true
		}
	}
	return false
}

// Decoder reads a snapshot. Methods return zero values once an error has
// been recorded; Err or Finish reports the first one.
type Decoder struct {
	buf []byte
	off int
	err error
}

// PeekKind returns the kind of a snapshot without checking the rest of it.
func PeekKind(data []byte) (Kind, error) {
	if len(data) < headerSize+crcSize || string(data[:4]) != magic {
		return 0, fmt.Errorf("%w: bad magic or too short (%d bytes)", ErrCorrupt, len(data))
	}
	return Kind(binary.LittleEndian.Uint16(data[6:])), nil
}

// Open checks a snapshot's magic, version, kind and checksum and returns a
// decoder positioned at the payload.
func Open(data []byte, want Kind) (*Decoder, error) {
	kind, err := PeekKind(data)
	if err != nil {
		return nil, err
	}
	if v := binary.LittleEndian.Uint16(data[4:]); v != Version {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrCorrupt, v, Version)
	}
	if kind != want {
		return nil, fmt.Errorf("%w: kind %d, want %d", ErrCorrupt, kind, want)
	}
	body := data[:len(data)-crcSize]
	if got, sum := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(data[len(body):]); got != sum {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, sum)
	}
	return &Decoder{buf: body, off: headerSize}, nil
}

// Seal recomputes the checksum of a snapshot in place. Fuzz tests use it to
// reach the payload parser with mutated bytes.
func Seal(data []byte) {
	if len(data) < headerSize+crcSize {
		return
	}
	body := data[:len(data)-crcSize]
	binary.LittleEndian.PutUint32(data[len(body):], crc32.Checksum(body, castagnoli))
}

// Fail records err (if no error is recorded yet) wrapped in ErrCorrupt.
func (d *Decoder) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

// Err returns the first recorded error.
func (d *Decoder) Err() error { return d.err }

// Remaining returns how many payload bytes are left.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Finish returns the first recorded error, or an error if bytes remain.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.Fail("%d trailing bytes", len(d.buf)-d.off)
	}
	return d.err
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.Fail("need %d bytes at offset %d, have %d", n, d.off, len(d.buf)-d.off)
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// U8 reads a byte.
func (d *Decoder) U8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a boolean written by Encoder.Bool.
func (d *Decoder) Bool() bool {
	switch v := d.U8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.Fail("bad boolean %d", v)
		return false
	}
}

// U32 reads a uint32.
func (d *Decoder) U32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// U64 reads a uint64.
func (d *Decoder) U64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// I64 reads an int64.
func (d *Decoder) I64() int64 { return int64(d.U64()) }

// F64 reads a float64.
func (d *Decoder) F64() float64 { return math.Float64frombits(d.U64()) }

// Count reads a non-negative int64 counter.
func (d *Decoder) Count() int64 {
	v := d.I64()
	if v < 0 {
		d.Fail("negative count %d", v)
		return 0
	}
	return v
}

// F64s reads a slice written by Encoder.F64s into dst, whose length must
// match the recorded one.
func (d *Decoder) F64s(dst []float64) {
	n := d.U32()
	if d.err == nil && int(n) != len(dst) {
		d.Fail("slice of %d values, want %d", n, len(dst))
	}
	d.fill(dst)
}

// UpperTriangle reads what Encoder.UpperTriangle wrote into the upper
// triangle of the row-major d×d matrix m; with mirror it fills the lower
// triangle too.
func (d *Decoder) UpperTriangle(m []float64, dim int, mirror bool) {
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			v := d.F64()
			m[i*dim+j] = v
			if mirror {
				m[j*dim+i] = v
			}
		}
	}
}

// Bytes reads a slice written by Encoder.Bytes. It aliases the input.
func (d *Decoder) Bytes() []byte {
	n := d.U32()
	return d.take(int(n))
}

// F64sAlloc reads a slice written by Encoder.F64s of at most max values
// into a new slice.
func (d *Decoder) F64sAlloc(max int) []float64 {
	n := int(d.U32())
	if d.err != nil {
		return nil
	}
	if n > max || n > (len(d.buf)-d.off)/8 {
		d.Fail("slice of %d values exceeds limit %d or remaining bytes", n, max)
		return nil
	}
	v := make([]float64, n)
	d.fill(v)
	return v
}

func (d *Decoder) fill(dst []float64) {
	b := d.take(8 * len(dst))
	if b == nil {
		return
	}
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
}

// Rows reads a table written by Encoder.Rows with the same n and width,
// calling set for every stored value; rows not stored are +0 and the
// caller's table must start zeroed.
func (d *Decoder) Rows(n, width int, set func(i, j int, v float64)) {
	switch mode := d.U8(); {
	case d.err != nil:
		return
	case mode == 0:
		if n > d.Remaining()/(8*width) {
			d.Fail("dense table of %d rows exceeds the remaining bytes", n)
			return
		}
		for i := 0; i < n; i++ {
			for j := 0; j < width; j++ {
				set(i, j, d.F64())
			}
		}
	case mode == 1:
		nz := int(d.U32())
		if d.err == nil && (nz > n || nz > d.Remaining()/(8*width+1)) {
			d.Fail("%d sparse rows of %d exceed the remaining bytes", nz, n)
		}
		i := -1
		for k := 0; k < nz && d.err == nil; k++ {
			gap, w := binary.Uvarint(d.buf[d.off:])
			if w <= 0 || gap >= uint64(n-i-1) {
				d.Fail("bad sparse row index")
				return
			}
			d.off += w
			i += int(gap) + 1
			for j := 0; j < width; j++ {
				set(i, j, d.F64())
			}
		}
	default:
		d.Fail("bad table mode %d", mode)
	}
}

var registry = map[Kind]func() any{}

// Register records how to make an empty learner of a kind, for
// models.Unmarshal. Packages call it from init.
func Register(k Kind, newFn func() any) { registry[k] = newFn }

// New returns an empty learner of a registered kind.
func New(k Kind) (any, bool) {
	f, ok := registry[k]
	if !ok {
		return nil, false
	}
	return f(), true
}
