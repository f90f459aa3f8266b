package pseudo

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redact rewrites a raw payload, one that the event decoder may have
// rejected, so that the dead letter does not keep what the tables may not:
// every `"user_id": <string or number>` gets the pseudonym of its value
// (with surrounding space trimmed, as the decoder normalises ids; so a
// rejected event of a user carries the same pseudonym as the user's
// accepted events) when p is not nil, and every `"text": "<string>"`
// becomes `"text": ""` when dropText. It reports whether it changed
// anything.
//
// It works on the bytes, not on a parse, because the payload is by
// definition not a valid event: it may be truncated, have invalid UTF-8 or
// trailing garbage. It is best-effort and documented as such: a value cut
// off by the end of the payload is replaced up to the end; a key written
// with escapes (`"user\u005fid"`) or a user id held in another field (an
// event_id that embeds it, a feature name) is not found.
func Redact(raw []byte, p *Pseudonymizer, dropText bool) ([]byte, bool) {
	if p == nil && !dropText {
		return raw, false
	}
	var out []byte
	changed := false
	i := 0
	for {
		j := nextKey(raw, i, p != nil, dropText)
		if j.pos < 0 {
			break
		}
		k := j.pos
		// k is just after the key's closing quote: skip space and a colon.
		v := skipSpace(raw, k)
		if v >= len(raw) || raw[v] != ':' {
			if out != nil {
				out = append(out, raw[i:k]...)
			}
			i = k
			continue
		}
		v = skipSpace(raw, v+1)
		end, value, ok := scanValue(raw, v, j.isUser)
		if !ok {
			if out != nil {
				out = append(out, raw[i:k]...)
			}
			i = k
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(raw))
		}
		out = append(out, raw[i:v]...)
		if j.isUser {
			out = append(out, '"')
			out = append(out, p.UserID(strings.TrimSpace(value))...)
			out = append(out, '"')
		} else {
			out = append(out, '"', '"')
		}
		changed = true
		i = end
	}
	if !changed {
		return raw, false
	}
	return append(out, raw[i:]...), true
}

type keyHit struct {
	pos    int // just after the key's closing quote
	isUser bool
}

var (
	userKey = []byte(`"user_id"`)
	textKey = []byte(`"text"`)
)

// nextKey finds the first wanted key at or after i; pos is -1 if none.
func nextKey(raw []byte, i int, user, text bool) keyHit {
	best := keyHit{pos: -1}
	if user {
		if k := bytes.Index(raw[i:], userKey); k >= 0 {
			best = keyHit{pos: i + k + len(userKey), isUser: true}
		}
	}
	if text {
		if k := bytes.Index(raw[i:], textKey); k >= 0 && (best.pos < 0 || i+k+len(textKey) < best.pos) {
			best = keyHit{pos: i + k + len(textKey)}
		}
	}
	return best
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanValue reads the value at i: a JSON string (to its closing quote, or
// to the end of raw if it has none) or, when numbers is set, a number
// token. It returns the end of the value, its text (a string unescaped
// where it is valid JSON) and whether a value was found.
func scanValue(raw []byte, i int, numbers bool) (end int, value string, ok bool) {
	if i >= len(raw) {
		return 0, "", false
	}
	if raw[i] == '"' {
		j := i + 1
		for j < len(raw) {
			switch raw[j] {
			case '\\':
				j += 2
				continue
			case '"':
				var s string
				if json.Unmarshal(raw[i:j+1], &s) != nil {
					s = string(raw[i+1 : j])
				}
				return j + 1, s, true
			}
			j++
		}
		// Unterminated: the value runs to the end of the payload.
		return len(raw), string(raw[i+1:]), true
	}
	if !numbers {
		return 0, "", false
	}
	j := i
	for j < len(raw) && strings.IndexByte("+-0123456789.eE", raw[j]) >= 0 {
		j++
	}
	if j == i {
		return 0, "", false
	}
	return j, string(raw[i:j]), true
}
