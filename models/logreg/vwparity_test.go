package logreg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/pulse-analytics/pulse/models"
)

// TestVWParity compares progressive log loss with Vowpal Wabbit 9.11.2 on
// the stream written by
//
//	python3 shared/tools/gen_logistic.py 1000000 16 42 DIR
//
// (~335 MB, so opt-in: PULSE_VW_PARITY=1 PULSE_VW_DATA=DIR). VW
// `--ftrl --ftrl_alpha 0.1 --ftrl_beta 1` reports 0.455268. VW adds a
// constant feature to every example, so the matching variant appends a
// bias feature with value 1 to the 16 dense features.
func TestVWParity(t *testing.T) {
	dir := os.Getenv("PULSE_VW_DATA")
	if os.Getenv("PULSE_VW_PARITY") != "1" || dir == "" {
		t.Skip("set PULSE_VW_PARITY=1 and PULSE_VW_DATA=DIR (see the doc comment) to run")
	}
	x, shape, err := readNpy(filepath.Join(dir, "X.npy"), "<f8")
	if err != nil {
		t.Fatal(err)
	}
	y, yshape, err := readNpy(filepath.Join(dir, "y.npy"), "|i1")
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || len(yshape) != 1 || shape[0] != yshape[0] {
		t.Fatalf("shapes %v and %v do not match", shape, yshape)
	}
	n, d := shape[0], shape[1]
	for _, bias := range []bool{true, false} {
		dim := d
		if bias {
			dim++
		}
		f, err := NewFTRL(FTRLConfig{Dim: dim, Alpha: 0.1, Beta: 1})
		if err != nil {
			t.Fatal(err)
		}
		row := make([]float64, dim)
		row[dim-1] = 1
		for i := 0; i < n; i++ {
			copy(row, x[i*d:(i+1)*d])
			f.PredictLearn(models.Dense(row), y[i])
		}
		ll := f.Metrics().LogLoss.Value()
		t.Logf("bias=%v: progressive log loss %.9f over %d examples (accuracy %.5f)", bias, ll, n, f.Metrics().Accuracy.Value())
		if bias && math.Abs(ll-0.455268) > 2e-6 {
			t.Errorf("progressive log loss %.7f, want 0.455268 ± 2e-6 (VW)", ll)
		}
	}
}

// readNpy reads a C-order .npy array of the given dtype ("<f8" or "|i1")
// as float64 values and its shape.
func readNpy(path, dtype string) ([]float64, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("%s: not a .npy file", path)
	}
	var hlen, off int
	if b[6] == 1 {
		hlen, off = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		hlen, off = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	if off+hlen > len(b) {
		return nil, nil, fmt.Errorf("%s: truncated header", path)
	}
	header := b[off : off+hlen]
	data := b[off+hlen:]
	if !bytes.Contains(header, []byte("'descr': '"+dtype+"'")) || !bytes.Contains(header, []byte("'fortran_order': False")) {
		return nil, nil, fmt.Errorf("%s: header %q, want dtype %s in C order", path, header, dtype)
	}
	m := regexp.MustCompile(`'shape': \(([0-9, ]*)\)`).FindSubmatch(header)
	if m == nil {
		return nil, nil, fmt.Errorf("%s: no shape in %q", path, header)
	}
	var shape []int
	total := 1
	for _, s := range regexp.MustCompile(`[0-9]+`).FindAll(m[1], -1) {
		v, _ := strconv.Atoi(string(s))
		shape = append(shape, v)
		total *= v
	}
	size := 8
	if dtype == "|i1" {
		size = 1
	}
	if len(data) != total*size {
		return nil, nil, fmt.Errorf("%s: %d data bytes for shape %v", path, len(data), shape)
	}
	out := make([]float64, total)
	for i := range out {
		if size == 8 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		} else {
			out[i] = float64(int8(data[i]))
		}
	}
	return out, shape, nil
}
