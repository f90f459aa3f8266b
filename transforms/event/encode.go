package event

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends e as one JSON object in the contract's field names,
// with event_time as RFC 3339 UTC, and returns the extended buffer. Decode
// reads back exactly what AppendJSON writes.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"event_id":`...)
	b = AppendString(b, e.EventID)
	b = append(b, `,"user_id":`...)
	b = AppendString(b, e.UserID)
	b = append(b, `,"item_id":`...)
	b = AppendString(b, e.ItemID)
	b = append(b, `,"action":"`...)
	b = append(b, e.Action.String()...)
	b = append(b, `","event_time":"`...)
	b = e.Time().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	b = appendOptString(b, "category", e.Category)
	b = appendOptNum(b, "watch_seconds", e.WatchSeconds, e.HasWatch)
	b = appendOptNum(b, "duration_seconds", e.DurationSeconds, e.HasDuration)
	b = appendOptNum(b, "amount", e.Amount, e.HasAmount)
	b = appendOptString(b, "device", e.Device)
	b = appendOptString(b, "region", e.Region)
	b = appendOptString(b, "text", e.Text)
	b = appendOptNum(b, "label", e.Label, e.HasLabel)
	if len(e.Features) > 0 {
		b = append(b, `,"features":{`...)
		// Sorted keys keep the output byte-identical for a given event.
		keys := make([]string, 0, len(e.Features))
		for k := range e.Features {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = AppendFloat(b, e.Features[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return AppendString(b, v)
}

func appendOptNum(b []byte, name string, v float64, ok bool) []byte {
	if !ok {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return AppendFloat(b, v)
}

// AppendFloat appends v in the shortest form that reads back exactly.
func AppendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
