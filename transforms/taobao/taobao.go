// Package taobao converts the Taobao (Alibaba) UserBehavior log into Pulse
// events, so that real behaviour can drive the pipelines.
//
// The log is CSV without a header, one event a line:
//
//	user_id,item_id,category_id,behavior,unix_seconds
//
// behavior pv, cart, fav and buy become the actions view, cart, favorite
// and purchase; category_id becomes the category; event_id is the line
// number (from 1), which is unique within one file. The package has no Beam
// dependency.
package taobao

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// maxSeconds is the last second of year 9999, the latest event time the
// contract accepts.
const maxSeconds = 253402300799

// Convert reads the log from r and writes one contract JSON line
// (event.AppendJSON) per row to w. Blank lines are skipped but still
// numbered. It returns the number of events written and stops at the first
// malformed row, with an error naming its line.
func Convert(r io.Reader, w io.Writer) (n int, err error) {
	sc := bufio.NewScanner(r)
	bw := bufio.NewWriterSize(w, 64<<10)
	var (
		e    event.Event
		buf  []byte
		line int64
	)
	for sc.Scan() {
		line++
		b := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := parseRow(b, line, &e); err != nil {
			return n, err
		}
		buf = append(e.AppendJSON(buf[:0]), '\n')
		if _, err := bw.Write(buf); err != nil {
			return n, fmt.Errorf("taobao: write: %w", err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("taobao: read after line %d: %w", line, err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("taobao: write: %w", err)
	}
	return n, nil
}

// parseRow fills e from the CSV row b, the line-th of its file.
func parseRow(b []byte, line int64, e *event.Event) error {
	var f [5][]byte
	rest := b
	for i := range f {
		var ok bool
		f[i], rest, ok = bytes.Cut(rest, []byte{','})
		if ok != (i < len(f)-1) {
			return fmt.Errorf("taobao: line %d: want 5 comma-separated fields: %q", line, b)
		}
	}
	for i, name := range [...]string{"user_id", "item_id", "category_id", "behavior", "unix_seconds"} {
		if len(f[i]) == 0 {
			return fmt.Errorf("taobao: line %d: empty %s", line, name)
		}
	}
	action, ok := actionOf(f[3])
	if !ok {
		return fmt.Errorf("taobao: line %d: unknown behavior %q", line, f[3])
	}
	secs, err := strconv.ParseInt(string(f[4]), 10, 64)
	if err != nil || secs < 0 || secs > maxSeconds {
		return fmt.Errorf("taobao: line %d: unix_seconds %q is not a time from 1970 to 9999", line, f[4])
	}
	*e = event.Event{
		EventID:   strconv.FormatInt(line, 10),
		UserID:    string(f[0]),
		ItemID:    string(f[1]),
		Category:  string(f[2]),
		Action:    action,
		EventTime: secs * 1000,
	}
	return nil
}

// actionOf maps a Taobao behavior to its action.
func actionOf(b []byte) (event.Action, bool) {
	switch string(b) {
	case "pv":
		return event.View, true
	case "cart":
		return event.Cart, true
	case "fav":
		return event.Favorite, true
	case "buy":
		return event.Purchase, true
	}
	return 0, false
}
