package event_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// checkReference fails t unless the fast decoder and refDecode agree on
// whether data is accepted and, if so, on the event and normalisation.
func checkReference(t testing.TB, data []byte) {
	t.Helper()
	var d event.Decoder
	var got event.Event
	err := d.Decode(data, &got)
	want, norm, rerr := refDecode(data)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("decoders disagree on %.200q:\n fast: %v\n  ref: %v", data, err, rerr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders disagree on %.200q:\n fast: %+v\n  ref: %+v", data, got, want)
	}
	if (d.Normalized == 1) != norm {
		t.Fatalf("Normalized = %d on %.200q, reference says normalised = %v", d.Normalized, data, norm)
	}
}

// hostile holds characters that stress string encoding.
var hostile = []string{`"`, `\`, "/", "\x00", "\x1f", "\n", "\t", "\x7f", "é", "世", "😀", "\u2028", "\ufffd", "\u00a0", " ", "{", "}", ",", ":", "null"}

func randString(r *rand.Rand, maxLen int) string {
	var b strings.Builder
	for n := r.IntN(maxLen + 1); n > 0; n-- {
		if r.IntN(4) == 0 {
			b.WriteString(hostile[r.IntN(len(hostile))])
		} else {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

func randID(r *rand.Rand) string {
	for {
		var s string
		if r.IntN(4) == 0 {
			s = strconv.FormatInt(r.Int64N(1e12)-1e6, 10)
		} else {
			s = strings.TrimSpace(randString(r, 12))
		}
		if s != "" {
			return s
		}
	}
}

var specialFloats = []float64{0, 1, 0.1, 1e-7, 5e-324, math.SmallestNonzeroFloat64, 1e21, 1e300, math.MaxFloat64, 123456789.125}

func randFloat(r *rand.Rand, signed bool) float64 {
	var v float64
	switch r.IntN(4) {
	case 0:
		v = specialFloats[r.IntN(len(specialFloats))]
	case 1:
		v = float64(r.IntN(10000))
	default:
		v = r.Float64() * math.Pow(10, float64(r.IntN(12)-4))
	}
	if signed && r.IntN(2) == 0 {
		v = -v
	}
	return v
}

// randEvent returns a valid, already normalised event with every optional
// field present at random.
func randEvent(r *rand.Rand) event.Event {
	e := event.Event{
		EventID:   randID(r),
		UserID:    randID(r),
		ItemID:    randID(r),
		Action:    event.Actions[r.IntN(len(event.Actions))],
		EventTime: r.Int64N(253402300799999 + 1),
	}
	if r.IntN(2) == 0 {
		e.EventTime = t0 + r.Int64N(365*24*3600*1000)
	}
	if r.IntN(2) == 0 {
		e.Category = randString(r, 10)
	}
	if r.IntN(2) == 0 {
		e.Device = randString(r, 8)
	}
	if r.IntN(2) == 0 {
		e.Region = randString(r, 8)
	}
	if r.IntN(2) == 0 {
		e.Text = randString(r, 40)
	}
	if r.IntN(2) == 0 {
		e.WatchSeconds, e.HasWatch = randFloat(r, false), true
	}
	if r.IntN(2) == 0 {
		e.DurationSeconds, e.HasDuration = randFloat(r, false), true
	}
	if r.IntN(2) == 0 {
		e.Amount, e.HasAmount = randFloat(r, true), true
	}
	if r.IntN(2) == 0 {
		e.Label, e.HasLabel = randFloat(r, true), true
	}
	if n := r.IntN(5) - 1; n > 0 {
		e.Features = make(map[string]float64, n)
		for range n {
			e.Features[randString(r, 6)] = randFloat(r, true)
		}
	}
	return e
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d event.Decoder
	var buf []byte
	for i := range 5000 {
		e := randEvent(r)
		buf = e.AppendJSON(buf[:0])
		if !json.Valid(buf) || !utf8.Valid(buf) {
			t.Fatalf("event %d: AppendJSON wrote invalid JSON: %s", i, buf)
		}
		var got event.Event
		if err := d.Decode(buf, &got); err != nil {
			if len(buf) > event.MaxPayload {
				continue
			}
			t.Fatalf("event %d: Decode(AppendJSON(%+v)) = %v\n%s", i, e, err, buf)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("event %d: round trip changed the event\n got %+v\nwant %+v\njson %s", i, got, e, buf)
		}
		if again := got.AppendJSON(nil); string(again) != string(buf) {
			t.Fatalf("event %d: AppendJSON is not deterministic:\n%s\n%s", i, buf, again)
		}
		checkReference(t, buf)
	}
	if d.Normalized != 0 {
		t.Errorf("Normalized = %d for AppendJSON output, want 0", d.Normalized)
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a\xffb", `"a\ufffdb"`},
		{"\xc0\xaf", `"\ufffd\ufffd"`},
		{"ok\x01", `"ok\u0001"`},
		{"\"\\\n\r\t", `"\"\\\n\r\t"`},
	} {
		got := event.AppendString(nil, tt.in)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s, not JSON: %v", tt.in, got, err)
		}
		var want string
		json.Unmarshal([]byte(tt.want), &want)
		if back != want {
			t.Errorf("AppendString(%q) reads back as %q, want %q", tt.in, back, want)
		}
	}
}

// messy renders e as valid JSON the way sloppy producers do: random member
// order and whitespace, escapes, numeric ids, padded ids and shouting
// actions, zone offsets, unknown members and nulls. The result must decode
// to e.
func messy(r *rand.Rand, e *event.Event) []byte {
	ws := func() string { return [...]string{"", "", "", " ", "\n", "\t ", "\r\n  "}[r.IntN(7)] }
	str := func(s string) string {
		var b strings.Builder
		b.WriteByte('"')
		for _, c := range s {
			switch {
			case c == '"' || c == '\\':
				b.WriteString(`\` + string(c))
			case c < 0x20 || r.IntN(8) == 0:
				if c > 0xffff {
					hi, lo := (c-0x10000)>>10+0xd800, (c-0x10000)&0x3ff+0xdc00
					fmt.Fprintf(&b, `\u%04x\u%04X`, hi, lo)
				} else {
					fmt.Fprintf(&b, `\u%04x`, c)
				}
			case c == '/' && r.IntN(2) == 0:
				b.WriteString(`\/`)
			default:
				b.WriteRune(c)
			}
		}
		b.WriteByte('"')
		return b.String()
	}
	id := func(s string) string {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil && r.IntN(2) == 0 && !strings.HasPrefix(s, "+") && (s == "0" || !strings.HasPrefix(strings.TrimPrefix(s, "-"), "0")) && s != "-0" {
			return s
		}
		pad := [...]string{"", "", "", " ", "\t", " \u00a0"}
		return str(pad[r.IntN(len(pad))] + s + pad[r.IntN(len(pad))])
	}
	num := func(v float64) string {
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if r.IntN(3) == 0 {
			s = strconv.FormatFloat(v, 'e', -1, 64)
			s = strings.Replace(s, "e", "E", r.IntN(2))
		}
		return s
	}
	var members []string
	add := func(k, v string) { members = append(members, str(k)+ws()+":"+ws()+v) }
	add("event_id", id(e.EventID))
	add("user_id", id(e.UserID))
	add("item_id", id(e.ItemID))
	action := e.Action.String()
	switch r.IntN(4) {
	case 0:
		action = strings.ToUpper(action)
	case 1:
		action = " " + action + "\t"
	}
	add("action", str(action))
	if r.IntN(2) == 0 {
		add("event_time", strconv.FormatInt(e.EventTime, 10))
	} else {
		off := time.Duration(r.IntN(27*4)-13*4) * 15 * time.Minute
		ts := e.Time().In(time.FixedZone("", int(off.Seconds()))).Format("2006-01-02T15:04:05.000Z07:00")
		if r.IntN(2) == 0 {
			ts = strings.Replace(ts, ".", "."+"", 1)[:23] + strconv.Itoa(r.IntN(1000)) + ts[23:]
		}
		if tt, err := time.Parse(time.RFC3339Nano, ts); err == nil && tt.UnixMilli() == e.EventTime {
			add("event_time", str(ts))
		} else {
			add("event_time", strconv.FormatInt(e.EventTime, 10))
		}
	}
	optStr := func(k, v string) {
		if v != "" {
			add(k, str(v))
		} else if r.IntN(3) == 0 {
			add(k, "null")
		}
	}
	optStr("category", e.Category)
	optStr("device", e.Device)
	optStr("region", e.Region)
	optStr("text", e.Text)
	optNum := func(k string, v float64, ok bool) {
		if ok {
			add(k, num(v))
		} else if r.IntN(3) == 0 {
			add(k, "null")
		}
	}
	optNum("watch_seconds", e.WatchSeconds, e.HasWatch)
	optNum("duration_seconds", e.DurationSeconds, e.HasDuration)
	optNum("amount", e.Amount, e.HasAmount)
	optNum("label", e.Label, e.HasLabel)
	if len(e.Features) > 0 {
		var fs []string
		for k, v := range e.Features {
			fs = append(fs, str(k)+ws()+":"+ws()+num(v))
		}
		if r.IntN(2) == 0 {
			fs = append(fs, str("gone")+":null")
		}
		r.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
		add("features", "{"+ws()+strings.Join(fs, ws()+","+ws())+ws()+"}")
	}
	for n := r.IntN(4); n > 0; n-- {
		add("x_"+randString(r, 5), randValue(r, 4))
	}
	r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return []byte(ws() + "{" + ws() + strings.Join(members, ws()+","+ws()) + ws() + "}" + ws())
}

// randValue returns an arbitrary JSON value nested at most depth deep.
func randValue(r *rand.Rand, depth int) string {
	k := r.IntN(8)
	if depth == 0 {
		k %= 5
	}
	switch k {
	case 0:
		return "null"
	case 1:
		return [...]string{"true", "false"}[r.IntN(2)]
	case 2:
		return [...]string{"0", "-1", "2.5e-3", "1E400", "-0.0", "12345678901234567890"}[r.IntN(6)]
	case 3, 4:
		b, _ := json.Marshal(randString(r, 8))
		return string(b)
	case 5, 6:
		var vs []string
		for n := r.IntN(4); n > 0; n-- {
			vs = append(vs, randValue(r, depth-1))
		}
		return "[" + strings.Join(vs, ",") + "]"
	default:
		var vs []string
		for n := r.IntN(4); n > 0; n-- {
			b, _ := json.Marshal(randString(r, 4))
			vs = append(vs, string(b)+":"+randValue(r, depth-1))
		}
		return "{" + strings.Join(vs, ",") + "}"
	}
}

// TestDifferential holds the fast decoder to the encoding/json reference on
// messy valid events, and on byte-level mutations of them, which are mostly
// invalid.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "{}[]\":,\\ 0-.eE+ntfu\x00\xff"
	var accepted, rejected int
	for i := range 3000 {
		e := randEvent(r)
		data := messy(r, &e)
		got, err := event.Decode(data)
		if err != nil {
			if len(data) > event.MaxPayload {
				continue
			}
			t.Fatalf("case %d: Decode(%s) = %v, want %+v", i, data, err, e)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("case %d: Decode(%s)\n got %+v\nwant %+v", i, data, got, e)
		}
		checkReference(t, data)
		for range 5 {
			m := []byte(string(data))
			for n := 1 + r.IntN(3); n > 0; n-- {
				p := r.IntN(len(m))
				switch r.IntN(3) {
				case 0:
					m = append(m[:p], m[p+1:]...)
				case 1:
					m = append(m[:p], append([]byte{alphabet[r.IntN(len(alphabet))]}, m[p:]...)...)
				default:
					m[p] = alphabet[r.IntN(len(alphabet))]
				}
			}
			checkReference(t, m)
			if _, err := event.Decode(m); err == nil {
				accepted++
			} else {
				rejected++
			}
		}
	}
	t.Logf("mutants: %d accepted, %d rejected", accepted, rejected)
}
