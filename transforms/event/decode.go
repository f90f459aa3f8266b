package event

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Error is a rejected payload's reason. Every decoding failure is an *Error,
// so the dead letter can carry Reason without string matching.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "decode event: " + e.Reason }

func reject(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// maxDepth bounds the nesting of unknown values that the decoder skips, so
// that hostile input cannot exhaust the stack.
const maxDepth = 64

// maxMillis is the last millisecond of year 9999; later times overflow the
// runners' timestamp arithmetic.
const maxMillis = 253402300799999

// Decoder decodes events. The zero value is ready to use. A Decoder is not
// safe for concurrent use; give each goroutine (or DoFn) its own.
type Decoder struct {
	// Normalized counts events in which an id or the action had surrounding
	// space, or the action had upper case, and was normalised.
	Normalized int64

	buf  []byte // scratch for unescaping strings
	data []byte
	pos  int
}

// Decode is a convenience for decoding one payload with a fresh Decoder.
func Decode(data []byte) (Event, error) {
	var d Decoder
	var e Event
	err := d.Decode(data, &e)
	return e, err
}

// field bits for required-field tracking.
const (
	hasEventID = 1 << iota
	hasUserID
	hasItemID
	hasAction
	hasTime
	hasAll = hasEventID | hasUserID | hasItemID | hasAction | hasTime
)

// Decode parses one event from data into e, overwriting it. It rejects,
// with an *Error, anything the contract does not accept.
func (d *Decoder) Decode(data []byte, e *Event) error {
	*e = Event{}
	if len(data) > MaxPayload {
		return reject("payload too large: %d bytes (limit %d)", len(data), MaxPayload)
	}
	if !utf8.Valid(data) {
		return reject("invalid UTF-8")
	}
	d.data, d.pos = data, 0
	defer func() { d.data = nil }()
	d.space()
	if d.pos == len(d.data) {
		return reject("empty payload")
	}
	if d.data[d.pos] != '{' {
		return d.syntax("expected a JSON object")
	}
	d.pos++
	var seen int
	var normalized bool
	var action string
	d.space()
	if d.peek() == '}' {
		d.pos++
	} else {
		for {
			d.space()
			key, err := d.str()
			if err != nil {
				return err
			}
			d.space()
			if d.peek() != ':' {
				return d.syntax("expected ':' after object key")
			}
			d.pos++
			d.space()
			if err := d.field(key, e, &seen, &action); err != nil {
				return err
			}
			d.space()
			c := d.peek()
			d.pos++
			if c == ',' {
				continue
			}
			if c == '}' {
				break
			}
			d.pos--
			return d.syntax("expected ',' or '}' in object")
		}
	}
	d.space()
	if d.pos != len(d.data) {
		return d.syntax("unexpected data after the object")
	}
	if seen != hasAll {
		return reject("missing required field %s", missing(seen))
	}
	for _, s := range []*string{&e.EventID, &e.UserID, &e.ItemID} {
		if t := strings.TrimSpace(*s); len(t) != len(*s) {
			*s, normalized = t, true
		}
	}
	switch {
	case e.EventID == "":
		return reject("empty event_id")
	case e.UserID == "":
		return reject("empty user_id")
	case e.ItemID == "":
		return reject("empty item_id")
	}
	a, ok := ParseAction(action)
	if !ok {
		norm := strings.ToLower(strings.TrimSpace(action))
		if a, ok = ParseAction(norm); !ok {
			return reject("unknown action %q", truncate(action, 64))
		}
		normalized = true
	}
	e.Action = a
	if normalized {
		d.Normalized++
	}
	return nil
}

func missing(seen int) string {
	names := []string{"event_id", "user_id", "item_id", "action", "event_time"}
	for i, n := range names {
		if seen&(1<<i) == 0 {
			return n
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// field decodes the value of one member. key may alias d.buf.
func (d *Decoder) field(key []byte, e *Event, seen *int, action *string) error {
	// A null is the absence of a value, for required and optional fields alike.
	if d.literal("null") {
		return nil
	}
	var err error
	switch string(key) {
	case "event_id":
		e.EventID, err = d.id("event_id")
		*seen |= hasEventID
	case "user_id":
		e.UserID, err = d.id("user_id")
		*seen |= hasUserID
	case "item_id":
		e.ItemID, err = d.id("item_id")
		*seen |= hasItemID
	case "action":
		*action, err = d.text("action")
		*seen |= hasAction
	case "event_time":
		e.EventTime, err = d.time()
		*seen |= hasTime
	case "category":
		e.Category, err = d.id("category")
	case "device":
		e.Device, err = d.text("device")
	case "region":
		e.Region, err = d.text("region")
	case "text":
		e.Text, err = d.text("text")
	case "watch_seconds":
		e.WatchSeconds, err = d.num("watch_seconds")
		if err == nil && e.WatchSeconds < 0 {
			return reject("negative watch_seconds %v", e.WatchSeconds)
		}
		e.HasWatch = err == nil
	case "duration_seconds":
		e.DurationSeconds, err = d.num("duration_seconds")
		if err == nil && e.DurationSeconds < 0 {
			return reject("negative duration_seconds %v", e.DurationSeconds)
		}
		e.HasDuration = err == nil
	case "amount":
		e.Amount, err = d.num("amount")
		e.HasAmount = err == nil
	case "label":
		e.Label, err = d.num("label")
		e.HasLabel = err == nil
	case "features":
		err = d.features(e)
	default:
		err = d.skip(0)
	}
	return err
}

func (d *Decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *Decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *Decoder) syntax(msg string) error {
	if d.pos >= len(d.data) {
		return reject("invalid JSON: %s, at end of input", msg)
	}
	return reject("invalid JSON: %s, at offset %d", msg, d.pos)
}

func (d *Decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// str reads a JSON string and returns its bytes, which alias either the input
// or the decoder's scratch buffer: copy before keeping them.
func (d *Decoder) str() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntax("expected a string")
	}
	d.pos++
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			return s, nil
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			return nil, d.syntax("control character in string")
		}
		d.pos++
	}
	return nil, d.syntax("unterminated string")
}

func (d *Decoder) unescape(start int) ([]byte, error) {
	b := append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = b
			return b, nil
		case c < 0x20:
			return nil, d.syntax("control character in string")
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			break
		}
		c = d.data[d.pos]
		d.pos++
		switch c {
		case '"', '\\', '/':
			b = append(b, c)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.syntax("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// Consume the next escape only if it completes a pair: a
				// lone surrogate becomes U+FFFD and what follows is decoded
				// on its own, as encoding/json does.
				r2, next := rune(-1), d.pos
				if d.literal("\\u") {
					if r2, ok = d.hex4(); !ok {
						return nil, d.syntax("bad \\u escape")
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					d.pos = next
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos--
			return nil, d.syntax("bad escape")
		}
	}
	return nil, d.syntax("unterminated string")
}

func (d *Decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// text reads a string-valued field.
func (d *Decoder) text(name string) (string, error) {
	if d.peek() != '"' {
		return "", reject("%s: expected a string", name)
	}
	s, err := d.str()
	return string(s), err
}

// id reads an identifier: a string, or an integer literal taken as its text,
// since many real logs carry numeric ids.
func (d *Decoder) id(name string) (string, error) {
	c := d.peek()
	if c == '-' || ('0' <= c && c <= '9') {
		tok, err := d.number()
		if err != nil {
			return "", err
		}
		for _, c := range tok {
			if c == '.' || c == 'e' || c == 'E' {
				return "", reject("%s: expected a string or an integer, got %s", name, tok)
			}
		}
		return string(tok), nil
	}
	return d.text(name)
}

// number reads the token of a JSON number, checking its grammar.
func (d *Decoder) number() ([]byte, error) {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return nil, d.syntax("bad number")
	}
	if d.peek() == '.' {
		d.pos++
		if n := d.digits(); n == 0 {
			return nil, d.syntax("bad number")
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if n := d.digits(); n == 0 {
			return nil, d.syntax("bad number")
		}
	}
	return d.data[start:d.pos], nil
}

func (d *Decoder) digits() int {
	n := 0
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
		n++
	}
	return n
}

// num reads a numeric field.
func (d *Decoder) num(name string) (float64, error) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, reject("%s: expected a number", name)
	}
	tok, err := d.number()
	if err != nil {
		return 0, err
	}
	// The token does not escape ParseFloat (its errors copy the text), so a
	// string header over the input saves an allocation per number.
	v, err := strconv.ParseFloat(unsafe.String(&tok[0], len(tok)), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, reject("%s: number out of range", name)
	}
	return v, nil
}

func (d *Decoder) time() (int64, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		if err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(s), len(s)))
		if err != nil {
			return 0, reject("bad event_time %q: want RFC 3339 with a zone or Unix milliseconds", truncate(string(s), 64))
		}
		ms := t.UnixMilli()
		if ms < 0 || ms > maxMillis {
			return 0, reject("event_time %q out of range", truncate(string(s), 64))
		}
		return ms, nil
	case c == '-' || ('0' <= c && c <= '9'):
		tok, err := d.number()
		if err != nil {
			return 0, err
		}
		ms, err := strconv.ParseInt(unsafe.String(&tok[0], len(tok)), 10, 64)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
				return 0, reject("event_time %s out of range", truncate(string(tok), 64))
			}
			return 0, reject("bad event_time %s: want integer Unix milliseconds", truncate(string(tok), 64))
		}
		if ms < 0 || ms > maxMillis {
			return 0, reject("event_time %d out of range", ms)
		}
		return ms, nil
	}
	return 0, reject("bad event_time: want RFC 3339 string or integer Unix milliseconds")
}

func (d *Decoder) features(e *Event) error {
	if d.peek() != '{' {
		return reject("features: expected an object")
	}
	d.pos++
	d.space()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		d.space()
		key, err := d.str()
		if err != nil {
			return err
		}
		name := string(key)
		d.space()
		if d.peek() != ':' {
			return d.syntax("expected ':' after object key")
		}
		d.pos++
		d.space()
		if !d.literal("null") {
			v, err := d.num("features." + name)
			if err != nil {
				return err
			}
			if e.Features == nil {
				e.Features = make(map[string]float64, 4)
			}
			e.Features[name] = v
		}
		d.space()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.syntax("expected ',' or '}' in object")
		}
	}
}

// skip validates and passes over one value of any type.
func (d *Decoder) skip(depth int) error {
	if depth > maxDepth {
		return reject("invalid JSON: nesting deeper than %d", maxDepth)
	}
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		_, err := d.number()
		return err
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.pos++
		d.space()
		if d.peek() == closer {
			d.pos++
			return nil
		}
		for {
			d.space()
			if c == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				d.space()
				if d.peek() != ':' {
					return d.syntax("expected ':' after object key")
				}
				d.pos++
				d.space()
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.space()
			switch d.peek() {
			case ',':
				d.pos++
			case closer:
				d.pos++
				return nil
			default:
				return d.syntax("expected ',' or a closing bracket")
			}
		}
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return d.syntax("unexpected character")
}
