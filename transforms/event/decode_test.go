package event_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// t0 is 2026-01-01T00:00:00Z in Unix milliseconds.
const t0 = 1767225600000

// minimal is the smallest valid event; tests splice fields into it.
const minimal = `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T00:00:00Z"}`

// with returns minimal with extra members appended before the closing brace.
func with(members string) string {
	return minimal[:len(minimal)-1] + "," + members + "}"
}

// base is the Event that minimal decodes to.
func base() event.Event {
	return event.Event{EventID: "e1", UserID: "u1", ItemID: "i1", Action: event.View, EventTime: t0}
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(e *event.Event) // edits base() into the expected event
	}{
		{"minimal", minimal, nil},
		{"offset", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T02:00:00+02:00"}`, nil},
		{"negative offset", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2025-12-31T19:00:00-05:00"}`, nil},
		{"fraction truncated to millis", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T00:00:00.123999Z"}`,
			func(e *event.Event) { e.EventTime += 123 }},
		{"integer millis", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":1767225600000}`, nil},
		{"epoch", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":0}`,
			func(e *event.Event) { e.EventTime = 0 }},
		{"last millisecond of 9999", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"9999-12-31T23:59:59.999Z"}`,
			func(e *event.Event) { e.EventTime = 253402300799999 }},
		{"numeric ids", `{"event_id":42,"user_id":-7,"item_id":0,"action":"view","event_time":1767225600000,"category":12}`,
			func(e *event.Event) { e.EventID, e.UserID, e.ItemID, e.Category = "42", "-7", "0", "12" }},
		{"null optional fields", with(`"category":null,"watch_seconds":null,"duration_seconds":null,"amount":null,"device":null,"region":null,"text":null,"label":null,"features":null`), nil},
		{"unknown fields", with(`"meta":{"a":[1,2.5e-3,{"b":null,"c":[true,false]}],"s":"x\"}"},"tags":[],"o":{},"n":-0.5E+3,"big":1e400,"flag":true`), nil},
		{"unknown field first", `{"v":2,"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T00:00:00Z"}`, nil},
		{"all optional fields", with(`"category":"music","watch_seconds":12.5,"duration_seconds":240,"amount":-3.25,"device":"ios","region":"eu-west","text":"nice","label":1`),
			func(e *event.Event) {
				e.Category, e.Device, e.Region, e.Text = "music", "ios", "eu-west", "nice"
				e.WatchSeconds, e.HasWatch = 12.5, true
				e.DurationSeconds, e.HasDuration = 240, true
				e.Amount, e.HasAmount = -3.25, true
				e.Label, e.HasLabel = 1, true
			}},
		{"zero watch is present", with(`"watch_seconds":0`), func(e *event.Event) { e.HasWatch = true }},
		{"escapes", with(`"text":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"`),
			func(e *event.Event) { e.Text = "a\"b\\c/d\b\f\n\r\té€😀" }},
		{"escaped key and id", `{"event\u005fid":"\u0065\u0031","user_id":"u1","item_id":"i1","action":"view","event_time":"2026-01-01T00:00:00Z"}`, nil},
		{"lone surrogate", with(`"text":"x\ud800y"`), func(e *event.Event) { e.Text = "x\ufffdy" }},
		{"lone low surrogate", with(`"text":"\udc00"`), func(e *event.Event) { e.Text = "\ufffd" }},
		// An unpaired surrogate must not swallow the escape after it.
		{"high surrogate before escape", with(`"text":"\ud83d\u0041"`), func(e *event.Event) { e.Text = "\ufffdA" }},
		{"two low surrogates", with(`"text":"\udc00\udc00"`), func(e *event.Event) { e.Text = "\ufffd\ufffd" }},
		{"high surrogate before pair", with(`"text":"\ud800\ud83d\ude00"`), func(e *event.Event) { e.Text = "\ufffd😀" }},
		{"raw UTF-8", with(`"text":"héllo 世界 😀"`), func(e *event.Event) { e.Text = "héllo 世界 😀" }},
		{"features", with(`"features":{"ctr":0.25,"n":3,"skip":null,"neg":-1e-3}`),
			func(e *event.Event) { e.Features = map[string]float64{"ctr": 0.25, "n": 3, "neg": -1e-3} }},
		{"empty features", with(`"features":{}`), nil},
		{"whitespace", " \r\n\t{ \"event_id\" : \"e1\" ,\n\"user_id\":\"u1\",\"item_id\"\t:\"i1\",\"action\":\"view\",\"event_time\":\"2026-01-01T00:00:00Z\" }\n", nil},
		{"duplicate key last wins", with(`"event_id":"e2"`), func(e *event.Event) { e.EventID = "e2" }},
		{"null does not erase", with(`"event_id":null`), nil},
		{"exactly MaxPayload", with(`"pad":"` + strings.Repeat("x", event.MaxPayload-len(minimal)-9) + `"`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base()
			if tt.want != nil {
				tt.want(&want)
			}
			got, err := event.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%.80q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(%.80q)\n got %+v\nwant %+v", tt.in, got, want)
			}
			checkReference(t, []byte(tt.in))
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	deep := func(open, close string, n int) string {
		return with(`"x":` + strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	tests := []struct {
		name string
		in   string
		want []string // substrings of the reason
	}{
		// Invalid JSON.
		{"empty", "", []string{"empty payload"}},
		{"blank", " \n\t", []string{"empty payload"}},
		{"null", "null", []string{"expected a JSON object"}},
		{"array", "[" + minimal + "]", []string{"expected a JSON object"}},
		{"string", `"e1"`, []string{"expected a JSON object"}},
		{"truncated", minimal[:len(minimal)-1], []string{"invalid JSON", "end of input"}},
		{"truncated in string", minimal[:20], []string{"invalid JSON", "unterminated string"}},
		{"missing colon", `{"event_id" "e1"}`, []string{"invalid JSON", "':'"}},
		{"missing comma", `{"event_id":"e1" "user_id":"u1"}`, []string{"invalid JSON", "','"}},
		{"trailing comma", with(`"x":1,`), []string{"invalid JSON"}},
		{"single quotes", `{'event_id':'e1'}`, []string{"invalid JSON", "expected a string"}},
		{"unquoted key", `{event_id:"e1"}`, []string{"invalid JSON"}},
		{"control char", with("\"text\":\"a\nb\""), []string{"invalid JSON", "control character"}},
		{"bad escape", with(`"text":"\x41"`), []string{"invalid JSON", "bad escape"}},
		{"bad unicode escape", with(`"text":"\u12G4"`), []string{"invalid JSON", `\u`}},
		{"short unicode escape", with(`"text":"\u12"`), []string{"invalid JSON", `\u`}},
		{"bad low surrogate", with(`"text":"\ud83d\uZZZZ"`), []string{"invalid JSON", `\u`}},
		{"leading zero", with(`"x":01`), []string{"invalid JSON"}},
		{"bare minus", with(`"x":-`), []string{"invalid JSON", "bad number"}},
		{"bare dot", with(`"x":1.`), []string{"invalid JSON", "bad number"}},
		{"bare exponent", with(`"x":1e`), []string{"invalid JSON", "bad number"}},
		{"plus sign", with(`"x":+1`), []string{"invalid JSON"}},
		{"bad literal", with(`"x":tru`), []string{"invalid JSON"}},
		{"NaN", with(`"amount":NaN`), []string{"amount", "expected a number"}},
		{"unclosed array", with(`"x":[1,2`), []string{"invalid JSON"}},
		{"trailing garbage", minimal + "x", []string{"unexpected data after the object"}},
		{"two objects", minimal + minimal, []string{"unexpected data after the object"}},
		{"trailing brace", minimal + "}", []string{"unexpected data after the object"}},

		// Required fields.
		{"empty object", "{}", []string{"missing required field", "event_id"}},
		{"missing event_id", `{"user_id":"u1","item_id":"i1","action":"view","event_time":0}`, []string{"missing required field", "event_id"}},
		{"missing user_id", `{"event_id":"e1","item_id":"i1","action":"view","event_time":0}`, []string{"missing required field", "user_id"}},
		{"missing item_id", `{"event_id":"e1","user_id":"u1","action":"view","event_time":0}`, []string{"missing required field", "item_id"}},
		{"missing action", `{"event_id":"e1","user_id":"u1","item_id":"i1","event_time":0}`, []string{"missing required field", "action"}},
		{"missing event_time", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view"}`, []string{"missing required field", "event_time"}},
		{"null event_time", `{"event_id":"e1","user_id":"u1","item_id":"i1","action":"view","event_time":null}`, []string{"missing required field", "event_time"}},
		{"empty event_id", with(`"event_id":""`), []string{"empty event_id"}},
		{"blank user_id", with(`"user_id":"  "`), []string{"empty user_id"}},
		{"empty item_id", with(`"item_id":"\t"`), []string{"empty item_id"}},
		{"float id", with(`"event_id":1.5`), []string{"event_id", "string or an integer"}},
		{"exponent id", with(`"user_id":1e3`), []string{"user_id", "string or an integer"}},
		{"bool id", with(`"item_id":true`), []string{"item_id", "expected a string"}},
		{"object id", with(`"item_id":{}`), []string{"item_id", "expected a string"}},

		// Action.
		{"unknown action", with(`"action":"teleport"`), []string{"unknown action", "teleport"}},
		{"empty action", with(`"action":""`), []string{"unknown action"}},
		{"plural action", with(`"action":"views"`), []string{"unknown action", "views"}},
		{"numeric action", with(`"action":1`), []string{"action", "expected a string"}},
		{"long unknown action", with(`"action":"` + strings.Repeat("ä", 100) + `"`), []string{"unknown action", "…"}},

		// Time.
		{"no zone", with(`"event_time":"2026-01-01T00:00:00"`), []string{"bad event_time", "2026-01-01T00:00:00"}},
		{"date only", with(`"event_time":"2026-01-01"`), []string{"bad event_time"}},
		{"space separator", with(`"event_time":"2026-01-01 00:00:00Z"`), []string{"bad event_time"}},
		{"float millis", with(`"event_time":1767225600000.5`), []string{"bad event_time", "integer"}},
		{"exponent millis", with(`"event_time":1.7e12`), []string{"bad event_time", "integer"}},
		{"string millis", with(`"event_time":"1767225600000"`), []string{"bad event_time", "1767225600000"}},
		{"bool time", with(`"event_time":true`), []string{"bad event_time"}},
		{"negative millis", with(`"event_time":-1`), []string{"event_time", "out of range"}},
		{"millis after 9999", with(`"event_time":253402300800000`), []string{"event_time", "out of range"}},
		{"millis overflow int64", with(`"event_time":99999999999999999999`), []string{"event_time", "out of range"}},
		{"year 1", with(`"event_time":"0001-01-01T00:00:00Z"`), []string{"event_time", "out of range"}},
		{"before epoch", with(`"event_time":"1969-12-31T23:59:59.999Z"`), []string{"event_time", "out of range"}},
		{"offset past 9999", with(`"event_time":"9999-12-31T23:30:00-01:00"`), []string{"event_time", "out of range"}},

		// Numbers.
		{"negative watch_seconds", with(`"watch_seconds":-1`), []string{"negative watch_seconds"}},
		{"negative duration_seconds", with(`"duration_seconds":-0.5`), []string{"negative duration_seconds"}},
		{"string watch_seconds", with(`"watch_seconds":"5"`), []string{"watch_seconds", "expected a number"}},
		{"huge amount", with(`"amount":1e400`), []string{"amount", "out of range"}},
		{"huge negative label", with(`"label":-1e400`), []string{"label", "out of range"}},
		{"huge watch", with(`"watch_seconds":1e309`), []string{"watch_seconds", "out of range"}},
		{"features not object", with(`"features":[1]`), []string{"features", "expected an object"}},
		{"features string value", with(`"features":{"a":"1"}`), []string{"features.a", "expected a number"}},
		{"features huge value", with(`"features":{"a":1e400}`), []string{"features.a", "out of range"}},
		{"features trailing comma", with(`"features":{"a":1,}`), []string{"invalid JSON"}},
		{"string text", with(`"text":5`), []string{"text", "expected a string"}},

		// Size, encoding, nesting.
		{"too large", with(`"pad":"` + strings.Repeat("x", event.MaxPayload) + `"`), []string{"payload too large", "limit 65536"}},
		{"just too large", with(`"pad":"` + strings.Repeat("x", event.MaxPayload-len(minimal)-8) + `"`), []string{"payload too large"}},
		{"invalid UTF-8", with("\"text\":\"\xff\""), []string{"invalid UTF-8"}},
		{"overlong UTF-8", with("\"text\":\"\xc0\xaf\""), []string{"invalid UTF-8"}},
		{"UTF-8 surrogate", with("\"text\":\"\xed\xa0\x80\""), []string{"invalid UTF-8"}},
		{"truncated UTF-8", with("\"text\":\"\xe2\x82\""), []string{"invalid UTF-8"}},
		{"deep arrays", with(`"x":` + strings.Repeat("[", 10000)), []string{"nesting deeper than"}},
		{"deep balanced arrays", deep("[", "]", 1000), []string{"nesting deeper than"}},
		{"deep objects", with(`"x":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)), []string{"nesting deeper than"}},
		{"deep in required field", `{"event_id":` + strings.Repeat("[", 10000), []string{"event_id", "expected a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := event.Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%.80q) = %+v, want error", tt.in, got)
			}
			var de *event.Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%.80q) error %T %v, want *event.Error", tt.in, err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(de.Reason, w) {
					t.Errorf("Decode(%.80q) reason %q, want it to contain %q", tt.in, de.Reason, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "decode event: ") {
				t.Errorf("Error() = %q, want the \"decode event: \" prefix", err.Error())
			}
			if len(de.Reason) > 200 {
				t.Errorf("reason is %d bytes; reasons go to dead letters and must stay short", len(de.Reason))
			}
			checkReference(t, []byte(tt.in))
		})
	}
}

func TestDecodeNormalizes(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       func(e *event.Event)
		normalized int64
	}{
		{"clean", minimal, nil, 0},
		{"spaced action", with(`"action":" View "`), nil, 1},
		{"upper action", with(`"action":"PURCHASE"`), func(e *event.Event) { e.Action = event.Purchase }, 1},
		{"tabbed action", with(`"action":"\tcart\n"`), func(e *event.Event) { e.Action = event.Cart }, 1},
		{"spaced ids", with(`"event_id":" e1 ","user_id":" u1 ","item_id":"i1\u00a0"`), nil, 1},
		{"ids and action count once", with(`"user_id":" u1 ","action":"VIEW"`), nil, 1},
		{"inner space kept", with(`"user_id":"u 1"`), func(e *event.Event) { e.UserID = "u 1" }, 0},
		{"category not trimmed", with(`"category":" Music "`), func(e *event.Event) { e.Category = " Music " }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base()
			if tt.want != nil {
				tt.want(&want)
			}
			var d event.Decoder
			var got event.Event
			if err := d.Decode([]byte(tt.in), &got); err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(%q)\n got %+v\nwant %+v", tt.in, got, want)
			}
			if d.Normalized != tt.normalized {
				t.Errorf("Normalized = %d, want %d", d.Normalized, tt.normalized)
			}
			checkReference(t, []byte(tt.in))
		})
	}
}

// TestDecoderReuse checks that a Decoder's scratch buffer never leaks into
// returned events and that Decode overwrites the destination.
func TestDecoderReuse(t *testing.T) {
	var d event.Decoder
	inputs := []string{
		with(`"text":"first\nline","features":{"k\u0031":1}`),
		with(`"text":"second\tline","category":"c\u0032","features":{"k\u0032":2}`),
		with(`"action":" Like "`),
		"not json",
		minimal,
	}
	var got []event.Event
	for _, in := range inputs {
		e := event.Event{Text: "stale", Features: map[string]float64{"stale": 1}, HasAmount: true}
		if err := d.Decode([]byte(in), &e); err != nil {
			if in != "not json" {
				t.Fatalf("Decode(%q): %v", in, err)
			}
			continue
		}
		got = append(got, e)
	}
	if got[0].Text != "first\nline" || got[0].Features["k1"] != 1 || len(got[0].Features) != 1 {
		t.Errorf("first event was clobbered: %+v", got[0])
	}
	if got[1].Text != "second\tline" || got[1].Category != "c2" || got[1].Features["k2"] != 2 {
		t.Errorf("second event wrong: %+v", got[1])
	}
	if got[2].Action != event.Like || d.Normalized != 1 {
		t.Errorf("third event %+v, Normalized %d; want like and 1", got[2], d.Normalized)
	}
	if want := base(); !reflect.DeepEqual(got[3], want) {
		t.Errorf("Decode did not overwrite its destination:\n got %+v\nwant %+v", got[3], want)
	}
}

func TestDecodeAllocs(t *testing.T) {
	data := []byte(realistic)
	var d event.Decoder
	var e event.Event
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(data, &e); err != nil {
			t.Fatal(err)
		}
	})
	// One allocation per string field kept (event_id, user_id, item_id,
	// category, device, region, text) plus the action's transient copy; a
	// regression here shows up as a steady per-event cost.
	if allocs > 8 {
		t.Errorf("Decode of a realistic event: %v allocations, want ≤ 8", allocs)
	}
}

func TestActions(t *testing.T) {
	if len(event.Actions) != event.NumActions-1 {
		t.Fatalf("len(Actions) = %d, want %d", len(event.Actions), event.NumActions-1)
	}
	for _, a := range event.Actions {
		if !a.Valid() {
			t.Errorf("%v.Valid() = false", a)
		}
		if got, ok := event.ParseAction(a.String()); !ok || got != a {
			t.Errorf("ParseAction(%q) = %v, %v; want %v, true", a.String(), got, ok, a)
		}
		got, err := event.Decode([]byte(with(`"action":"` + a.String() + `"`)))
		if err != nil || got.Action != a {
			t.Errorf("Decode with action %q = %v, %v", a, got.Action, err)
		}
	}
	for _, a := range []event.Action{0, event.Action(event.NumActions), 255} {
		if a.Valid() || a.String() != "" {
			t.Errorf("Action(%d): Valid %v, String %q; want false, \"\"", a, a.Valid(), a.String())
		}
	}
}
