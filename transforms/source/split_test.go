package source

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// wholeFile is how textio.Read splits a file into lines.
func wholeFile(data string) []string {
	if data == "" {
		return nil
	}
	lines := strings.Split(data, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// onlyReader hides a reader's Seek, as a remote file's does.
type onlyReader struct{ io.Reader }

// Every way of cutting a file into parts reads each line exactly once and
// in order, whether the part can seek or must read up to its start.
func TestReadRangePartsMakeTheFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var files []string
	for range 40 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(strings.Repeat("x", rng.IntN(5))) // empty lines too
			b.WriteString("\n")
		}
		if rng.IntN(2) == 0 {
			b.WriteString("last")
		}
		files = append(files, b.String())
	}
	files = append(files, "", "\n", "\n\n", "a", "a\n", "\r\n")
	for _, data := range files {
		want := wholeFile(data)
		size := int64(len(data))
		for parts := 1; parts <= 7; parts++ {
			for _, seek := range []bool{true, false} {
				var got []string
				for p := range parts {
					var r io.Reader = bytes.NewReader([]byte(data))
					if !seek {
						r = onlyReader{r}
					}
					err := readRange(r, size*int64(p)/int64(parts), size*int64(p+1)/int64(parts), func(l string) { got = append(got, l) })
					if err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%q in %d parts (seek %v): %q, want %q", data, parts, seek, got, want)
				}
			}
		}
	}
}
