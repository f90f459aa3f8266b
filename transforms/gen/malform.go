package gen

import (
	"bytes"
	"strconv"
	"time"
)

// The kinds of malformed payload, drawn uniformly.
const (
	badJSON = iota
	badAction
	badMissing
	badWatch
	badTime
	numBad
)

var (
	unknownActions = []string{"teleport", "unlike", "views", "VIEWED", "", "purchase!"}
	requiredFields = []string{"event_id", "user_id", "item_id", "action", "event_time"}
)

// malform appends a corrupted rendering of the current event to buf. Each
// variant breaks exactly one rule of the contract, so dead-letter reasons
// cover them all.
func (g *Generator) malform(buf []byte) []byte {
	r := g.rng
	e := &g.ev
	switch r.IntN(numBad) {
	case badWatch:
		e.WatchSeconds, e.HasWatch = -float64(1+r.IntN(3000))/10, true
		return e.AppendJSON(buf)
	case badAction:
		line := e.AppendJSON(g.scratch[:0])
		g.scratch = line
		return replaceValue(buf, line, "action", strconv.Quote(unknownActions[r.IntN(len(unknownActions))]))
	case badMissing:
		line := e.AppendJSON(g.scratch[:0])
		g.scratch = line
		key := requiredFields[r.IntN(len(requiredFields))]
		i, j := valueSpan(line, key)
		i -= len(key) + 3 // back to the member's opening quote
		if line[i-1] == ',' {
			i-- // drop the comma before the member
		} else {
			j++ // first member: drop the comma after it
		}
		buf = append(buf, line[:i]...)
		return append(buf, line[j:]...)
	case badTime:
		line := e.AppendJSON(g.scratch[:0])
		g.scratch = line
		t := e.Time()
		var v string
		switch r.IntN(5) {
		case 0:
			v = strconv.Quote(t.Format("2006-01-02T15:04:05")) // no zone
		case 1:
			v = strconv.FormatInt(e.EventTime, 10) + ".5" // float millis
		case 2:
			v = strconv.Quote(strconv.FormatInt(e.EventTime, 10)) // string millis
		case 3:
			v = strconv.Quote(t.Format("01/02/2006 15:04")) // US format
		default:
			v = strconv.Quote(t.AddDate(-100, 0, 0).Format(time.RFC3339)) // before 1970: out of range
		}
		return replaceValue(buf, line, "event_time", v)
	}
	line := e.AppendJSON(g.scratch[:0])
	g.scratch = line
	switch r.IntN(4) {
	case 0: // truncated: no proper prefix of an object is valid
		return append(buf, line[:1+r.IntN(len(line)-1)]...)
	case 1: // trailing garbage
		buf = append(buf, line...)
		return append(buf, '}')
	case 2: // a key without its colon
		i := bytes.IndexByte(line, ':')
		buf = append(buf, line[:i]...)
		buf = append(buf, ' ')
		return append(buf, line[i+1:]...)
	default: // a Latin-1 byte where UTF-8 belongs
		i := 1 + r.IntN(len(line)-1)
		buf = append(buf, line[:i]...)
		buf = append(buf, 0xe9)
		return append(buf, line[i:]...)
	}
}

// valueSpan returns the bounds of the value of the top-level member key in
// an AppendJSON line. The required members come first and quotes inside
// strings are escaped, so the first `"key":` is the member.
func valueSpan(line []byte, key string) (int, int) {
	var pat [32]byte
	p := append(append(append(pat[:0], '"'), key...), '"', ':')
	i := bytes.Index(line, p) + len(p)
	j := i
	if line[j] == '"' {
		for j++; line[j] != '"'; j++ {
			if line[j] == '\\' {
				j++
			}
		}
		return i, j + 1
	}
	for line[j] != ',' && line[j] != '}' {
		j++
	}
	return i, j
}

// replaceValue appends line to buf with key's value replaced by v.
func replaceValue(buf, line []byte, key, v string) []byte {
	i, j := valueSpan(line, key)
	buf = append(buf, line[:i]...)
	buf = append(buf, v...)
	return append(buf, line[j:]...)
}
