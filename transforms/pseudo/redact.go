package pseudo

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Redact rewrites a raw payload, one that the event decoder may have
// rejected, so that the dead letter does not keep what the tables may not:
// the value of every member named user_id (a string or a number) becomes
// the pseudonym of its value (with surrounding space trimmed, as the
// decoder normalises ids; so a rejected event of a user carries the same
// pseudonym as the user's accepted events) when p is not nil, and the value
// of every member named text (a string) becomes "" when dropText. It
// reports whether it changed anything.
//
// It tokenises the bytes instead of parsing JSON, because the payload is by
// definition not a valid event: it may be truncated, have invalid UTF-8,
// a missing colon or trailing garbage; a name followed by a value without
// the colon counts as a member too. A member name is compared after
// unescaping and after removing every non-ASCII character, so a name with
// an escape or a stray Latin-1 byte (`"user\u005fid"`, "user\xe9_id") is
// still found. A string value cut off by the end of the payload is replaced
// up to the end. It is best-effort, and documented as such: a user id held
// in another member (an event_id that embeds it, a feature name) is not
// found.
func Redact(raw []byte, p *Pseudonymizer, dropText bool) ([]byte, bool) {
	if p == nil && !dropText {
		return raw, false
	}
	var out []byte
	last := 0 // raw[:last] is in out
	for i := 0; i < len(raw); {
		if raw[i] != '"' {
			i++
			continue
		}
		end := stringEnd(raw, i)
		name := memberName(raw[i:end])
		isUser := p != nil && name == "user_id"
		if !isUser && !(dropText && name == "text") {
			i = end // another member, or a value
			continue
		}
		// The colon may be missing: the payload is broken anyway.
		v := skipSpace(raw, end)
		if v < len(raw) && raw[v] == ':' {
			v = skipSpace(raw, v+1)
		}
		vend, value, ok := scanValue(raw, v, isUser)
		if !ok {
			i = end
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(raw)+Size)
		}
		out = append(out, raw[last:v]...)
		out = append(out, '"')
		if isUser {
			out = append(out, p.UserID(strings.TrimSpace(value))...)
		}
		out = append(out, '"')
		last, i = vend, vend
	}
	if out == nil {
		return raw, false
	}
	return append(out, raw[last:]...), true
}

// stringEnd returns the index just after the string that opens at i, or
// len(raw) if it is not closed.
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}

// memberName unescapes a quoted member name where it is valid JSON and
// drops every non-ASCII character.
func memberName(quoted []byte) string {
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		s = strings.Trim(string(quoted), `"`)
	}
	return strings.Map(func(r rune) rune {
		if r >= utf8.RuneSelf {
			return -1
		}
		return r
	}, s)
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
		j := stringEnd(raw, i)
		var s string
		if json.Unmarshal(raw[i:j], &s) != nil {
			s = strings.TrimSuffix(string(raw[i+1:j]), `"`)
		}
		return j, s, true
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
