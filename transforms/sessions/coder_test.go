package sessions

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
)

func TestHitCoder(t *testing.T) {
	for _, h := range []hit{
		{},
		{Time: 1767225600000, Item: hashItem("i1"), Action: event.Purchase},
		{Time: -1, Item: math.MaxUint64, Action: event.Payment},
		{Time: math.MaxInt64, Item: 1, Action: event.View},
	} {
		b := encodeHit(h)
		got, err := decodeHit(b)
		if err != nil || got != h {
			t.Errorf("decode(encode(%+v)) = %+v, %v", h, got, err)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(b[:len(b):len(b)], 0)} {
			if _, err := decodeHit(bad); err == nil {
				t.Errorf("decodeHit(%x) accepted corrupt input", bad)
			}
		}
	}
}

func TestHitBatchCoder(t *testing.T) {
	for _, hb := range []hitBatch{
		{Users: []userHits{}},
		{Users: []userHits{{User: "u1", Hits: []hit{{Time: 1767225600000, Item: hashItem("i1"), Action: event.Purchase}}}}},
		{Users: []userHits{
			{User: "u1", Hits: []hit{{Time: -1, Item: math.MaxUint64, Action: event.Payment}, {Time: math.MaxInt64, Item: 1, Action: event.View}}},
			{User: "", Hits: []hit{}},
			{User: "u3", Hits: []hit{{}}},
		}},
	} {
		b := encodeHits(hb)
		got, err := decodeHits(b)
		if err != nil || !reflect.DeepEqual(got, hb) {
			t.Errorf("decode(encode(%+v)) = %+v, %v", hb, got, err)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(b[:len(b):len(b)], 0), {0xff, 0xff, 0xff, 0xff, 0x0f}} {
			if _, err := decodeHits(bad); err == nil {
				t.Errorf("decodeHits(%x) accepted corrupt input", bad)
			}
		}
	}
}

func TestClosedRecords(t *testing.T) {
	var b []byte
	want := []string{"u1@5", "@-3", "long-user-name@9223372036854775807"}
	for _, r := range []struct {
		user string
		last int64
	}{{"u1", 5}, {"", -3}, {"long-user-name", math.MaxInt64}} {
		b = binary.AppendUvarint(b, uint64(len(r.user)))
		b = append(b, r.user...)
		b = binary.AppendVarint(b, r.last)
	}
	var got []string
	if err := eachClosed(b, func(u string, last int64) { got = append(got, fmt.Sprintf("%s@%d", u, last)) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
	for _, bad := range [][]byte{{0x80}, {5, 'a'}, {1, 'a'}, {1, 'a', 0x80}} {
		if err := eachClosed(bad, func(string, int64) {}); err == nil {
			t.Errorf("eachClosed(%x) accepted corrupt records", bad)
		}
	}
}
