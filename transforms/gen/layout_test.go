package gen

import (
	"testing"
	"unsafe"
)

// The generator is bound by cache misses on sessions; see session.
func TestSessionLayout(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n != 256 {
		t.Errorf("session is %d bytes, want 256: adjust its padding", n)
	}
	if off := unsafe.Offsetof(session{}.buf); off+4*unsafe.Sizeof(step{}) > 128 {
		t.Errorf("session.buf starts at %d: the first steps should share the header's 128 bytes", off)
	}
}
