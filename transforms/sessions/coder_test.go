package sessions

import (
	"math"
	"reflect"
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

func TestStreamMetaCoder(t *testing.T) {
	for _, m := range []meta{{}, {held: 3}, {held: 1, due: -5, armed: true}, {held: MaxOpenHits, due: math.MaxInt64, armed: true}} {
		got, err := decodeMeta(m.encode())
		if err != nil || got != m {
			t.Errorf("decodeMeta(encode(%+v)) = %+v, %v", m, got, err)
		}
	}
	for _, bad := range [][]byte{{0x80}, {2, 0x80}, {2, 4, 6}} {
		if _, err := decodeMeta(bad); err == nil {
			t.Errorf("decodeMeta(%x) accepted corrupt state", bad)
		}
	}
}
