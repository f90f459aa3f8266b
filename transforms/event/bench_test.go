package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// realistic is a typical view event as sites send it (~260 bytes).
const realistic = `{"event_id":"3f2b9c1e-7a4d-4e8b-9c2f-1d5e6a7b8c9d","user_id":"u48213","item_id":"i90817","action":"view",` +
	`"event_time":"2026-03-14T18:22:05.123Z","category":"music","watch_seconds":142.5,"duration_seconds":215,` +
	`"device":"android","region":"eu-west","text":"great track"}`

// jsonEvent is the encoding/json equivalent of event.Event, the baseline
// that the hand-written decoder has to beat.
type jsonEvent struct {
	EventID         string             `json:"event_id"`
	UserID          string             `json:"user_id"`
	ItemID          string             `json:"item_id"`
	Action          string             `json:"action"`
	EventTime       time.Time          `json:"event_time"`
	Category        string             `json:"category"`
	WatchSeconds    *float64           `json:"watch_seconds"`
	DurationSeconds *float64           `json:"duration_seconds"`
	Amount          *float64           `json:"amount"`
	Device          string             `json:"device"`
	Region          string             `json:"region"`
	Text            string             `json:"text"`
	Label           *float64           `json:"label"`
	Features        map[string]float64 `json:"features"`
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(realistic)
	var d event.Decoder
	var e event.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := d.Decode(data, &e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	data := []byte(realistic)
	var e jsonEvent
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e = jsonEvent{} // Decode overwrites its destination too
		if err := json.Unmarshal(data, &e); err != nil {
			b.Fatal(err)
		}
		if _, ok := event.ParseAction(e.Action); !ok {
			b.Fatal("bad action")
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e, err := event.Decode([]byte(realistic))
	if err != nil {
		b.Fatal(err)
	}
	buf := e.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}
