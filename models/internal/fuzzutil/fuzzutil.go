// Package fuzzutil runs the shared checks of the snapshot fuzz targets.
package fuzzutil

import (
	"encoding"
	"testing"

	"github.com/pulse-analytics/pulse/models/internal/codec"
)

// Limit caps decoder allocations during fuzzing (2^16 values).
func Limit() { codec.MaxElems = 1 << 16 }

// Check decodes data as is and with a recomputed checksum (so mutations
// reach the payload parser) into a fresh value from newV. A successful
// decode must re-encode to bytes that decode again to the same bytes;
// use, if not nil, exercises the decoded value.
func Check[T interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}](t *testing.T, data []byte, newV func() T, use func(T)) {
	for _, seal := range []bool{false, true} {
		b := data
		if seal {
			b = append([]byte(nil), data...)
			codec.Seal(b)
		}
		v := newV()
		if err := v.UnmarshalBinary(b); err != nil {
			continue
		}
		out, err := v.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		w := newV()
		if err := w.UnmarshalBinary(out); err != nil {
			t.Fatalf("decode of re-encoded snapshot: %v", err)
		}
		if again, _ := w.MarshalBinary(); string(again) != string(out) {
			t.Fatal("snapshot does not round-trip")
		}
		if use != nil {
			use(v)
		}
	}
}
