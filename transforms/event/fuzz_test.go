package event_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// FuzzDecode checks that Decode never panics, fails only with *event.Error,
// agrees with the encoding/json reference, and that whatever it accepts
// survives an AppendJSON round trip. Run it with
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s -parallel 1 ./transforms/event/
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		minimal,
		realistic,
		`{"event_id":42,"user_id":-7,"item_id":" i9 ","action":" VIEW ","event_time":1767225600000}`,
		`{"event_id":"e1","user_id":"u1","item_id":"i1","action":"purchase","event_time":"2026-01-01T02:00:00.5+02:00","amount":19.99,"features":{"ctr":0.5,"x":null}}`,
		with(`"text":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800\u0041","meta":{"a":[1,{"b":null}],"c":true}`),
		with(`"big":1e400,"amount":-0,"label":5e-324`),
		with(`"event_time":"2026-01-01T00:00:00"`),
		with(`"event_time":1767225600000.5`),
		with(`"watch_seconds":-1`),
		with(`"action":"teleport"`),
		with(`"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100)),
		with("\"text\":\"\xff\""),
		minimal + "}",
		minimal[:40],
		`{"event_id":"e1","event_id":null,"features":{"a":1},"features":{"b":2}}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := event.Decode(data)
		if err != nil {
			var de *event.Error
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("Decode(%q) error %#v, want a non-empty *event.Error", data, err)
			}
		}
		checkReference(t, data)
		if err != nil {
			return
		}
		out := e.AppendJSON(nil)
		if len(out) > event.MaxPayload {
			return // escaping can grow a payload past the limit
		}
		again, err := event.Decode(out)
		if err != nil {
			t.Fatalf("Decode(AppendJSON(Decode(%q))) = %v\n%s", data, err, out)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed %q\n got %+v\nwant %+v", data, again, e)
		}
	})
}
