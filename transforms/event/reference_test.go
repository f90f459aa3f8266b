package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// refDecode is a slow reference implementation of the event contract built
// on encoding/json. It mirrors the contract, not the hand-written decoder's
// code: members are applied in order (so duplicates and nulls behave as
// documented), and it reports whether any id or the action was normalised.
// Differential tests hold the fast decoder to it.
func refDecode(data []byte) (e event.Event, normalized bool, err error) {
	if len(data) > event.MaxPayload {
		return e, false, errors.New("too large")
	}
	if !utf8.Valid(data) {
		return e, false, errors.New("invalid UTF-8")
	}
	if !json.Valid(data) {
		return e, false, errors.New("invalid JSON")
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return e, false, errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token() // '{'
	var seen = map[string]bool{}
	var action string
	for dec.More() {
		tok, _ := dec.Token()
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return e, false, err
		}
		if string(raw) == "null" {
			continue
		}
		if err := refField(&e, key, raw, &action); err != nil {
			return e, false, fmt.Errorf("%s: %w", key, err)
		}
		seen[key] = true
	}
	for _, k := range []string{"event_id", "user_id", "item_id", "action", "event_time"} {
		if !seen[k] {
			return e, false, fmt.Errorf("missing %s", k)
		}
	}
	for _, s := range []*string{&e.EventID, &e.UserID, &e.ItemID} {
		if t := strings.TrimSpace(*s); t != *s {
			*s, normalized = t, true
		}
		if *s == "" {
			return e, false, errors.New("empty id")
		}
	}
	a, ok := event.ParseAction(strings.ToLower(strings.TrimSpace(action)))
	if !ok {
		return e, false, errors.New("unknown action")
	}
	e.Action = a
	return e, normalized || action != a.String(), nil
}

func refField(e *event.Event, key string, raw json.RawMessage, action *string) error {
	var err error
	switch key {
	case "event_id":
		e.EventID, err = refID(raw)
	case "user_id":
		e.UserID, err = refID(raw)
	case "item_id":
		e.ItemID, err = refID(raw)
	case "category":
		e.Category, err = refID(raw)
	case "action":
		err = json.Unmarshal(refString(raw), action)
	case "device":
		err = json.Unmarshal(refString(raw), &e.Device)
	case "region":
		err = json.Unmarshal(refString(raw), &e.Region)
	case "text":
		err = json.Unmarshal(refString(raw), &e.Text)
	case "event_time":
		e.EventTime, err = refTime(raw)
	case "watch_seconds":
		e.WatchSeconds, err = refNum(raw, false)
		e.HasWatch = true
	case "duration_seconds":
		e.DurationSeconds, err = refNum(raw, false)
		e.HasDuration = true
	case "amount":
		e.Amount, err = refNum(raw, true)
		e.HasAmount = true
	case "label":
		e.Label, err = refNum(raw, true)
		e.HasLabel = true
	case "features":
		err = refFeatures(e, raw)
	default:
		if refDepth(raw) > 64 {
			err = errors.New("too deep")
		}
	}
	return err
}

// refString returns raw if it is a JSON string and an invalid document
// otherwise, so that Unmarshal into a string rejects every other type.
func refString(raw json.RawMessage) json.RawMessage {
	if raw[0] != '"' {
		return json.RawMessage("!")
	}
	return raw
}

func refID(raw json.RawMessage) (string, error) {
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		if bytes.ContainsAny(raw, ".eE") {
			return "", errors.New("not an integer")
		}
		return string(raw), nil
	}
	var s string
	err := json.Unmarshal(refString(raw), &s)
	return s, err
}

func refNum(raw json.RawMessage, signed bool) (float64, error) {
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	if !signed && v < 0 {
		return 0, errors.New("negative")
	}
	return v, nil
}

func refTime(raw json.RawMessage) (int64, error) {
	var ms int64
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, err
		}
		ms = t.UnixMilli()
	} else {
		var err error
		if ms, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return 0, err
		}
	}
	if ms < 0 || ms > 253402300799999 {
		return 0, errors.New("out of range")
	}
	return ms, nil
}

func refFeatures(e *event.Event, raw json.RawMessage) error {
	if raw[0] != '{' {
		return errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if string(v) == "null" {
			continue
		}
		f, err := refNum(v, true)
		if err != nil {
			return err
		}
		if e.Features == nil {
			e.Features = map[string]float64{}
		}
		e.Features[tok.(string)] = f
	}
	return nil
}

// refDepth is the largest number of containers enclosing any value inside
// raw (raw itself is at depth 0), the quantity the contract bounds by 64.
func refDepth(raw json.RawMessage) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 1e400 is a valid token
	type frame struct{ object, wantKey bool }
	var stack []frame
	deepest := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			return math.MaxInt // cannot happen on a valid document
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			if stack[n-1].wantKey {
				if d, ok := tok.(json.Delim); !ok || d != '}' {
					stack[n-1].wantKey = false
					continue // a key is not a value
				}
			} else {
				stack[n-1].wantKey = true
			}
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		deepest = max(deepest, len(stack))
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		}
	}
}
