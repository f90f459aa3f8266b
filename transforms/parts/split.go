package parts

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[string, []byte, func(string, []byte), error](&keyFn{})
	register.Emitter2[string, []byte]()
}

// ByKey splits in, a PCollection<KV<string, []byte>>, into n parts by key,
// each in scope "Part<i>" of s: a key's part is its shard modulo n when
// numbered (the decimal number after the key's last NUL, or the whole key
// when it has none: shard keys, which spread evenly), else its FNV-1a hash
// modulo n. All of a key's elements are in one part. With n = 1 it returns
// in itself and adds no transform.
func ByKey(s beam.Scope, n int, numbered bool, in beam.PCollection) []beam.PCollection {
	if n <= 1 {
		return []beam.PCollection{in}
	}
	out := make([]beam.PCollection, n)
	for i := range out {
		out[i] = beam.ParDo(s.Scope(fmt.Sprintf("Part%d", i)), &keyFn{Part: i, Parts: n, Numbered: numbered}, in)
	}
	return out
}

// keyFn keeps the elements of part Part of Parts (ByKey).
type keyFn struct {
	Part     int  `json:"part"`
	Parts    int  `json:"parts"`
	Numbered bool `json:"numbered"`
}

func (fn *keyFn) ProcessElement(key string, v []byte, emit func(string, []byte)) error {
	part, err := partOf(key, fn.Parts, fn.Numbered)
	if err != nil {
		return err
	}
	if part == fn.Part {
		emit(key, v)
	}
	return nil
}

func partOf(key string, n int, numbered bool) (int, error) {
	if numbered {
		shard, err := strconv.Atoi(key[strings.LastIndexByte(key, 0)+1:])
		if err != nil || shard < 0 {
			return 0, fmt.Errorf("parts: key %q does not end in a shard number", key)
		}
		return shard % n, nil
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n)), nil
}
