// Package event defines Pulse's event contract: the behaviour event a site
// emits, its actions, and a fast, allocation-light JSON decoder and encoder.
//
// One event is one UTF-8 JSON object. Required fields: event_id, user_id,
// item_id (strings; integer literals are taken as their decimal text), action
// (one of the Action names) and event_time (RFC 3339 with a zone, or integer
// Unix milliseconds). Optional: category, watch_seconds, duration_seconds,
// amount, device, region, text, label, and features (an object of string to
// number). Unknown fields are ignored. The package has no Beam dependency so
// that generators and tools can share the contract.
package event

import "time"

// MaxPayload is the largest event payload accepted, in bytes.
const MaxPayload = 64 << 10

// Event is one user-behaviour event. Optional numeric fields carry a Has*
// flag because zero is a meaningful value (a zero-second view).
type Event struct {
	EventID string
	UserID  string
	ItemID  string
	Action  Action
	// EventTime is the event's own time in Unix milliseconds. Pipelines
	// window on it, never on arrival time.
	EventTime int64

	Category string
	Device   string
	Region   string
	Text     string

	WatchSeconds    float64
	DurationSeconds float64
	Amount          float64
	Label           float64
	HasWatch        bool
	HasDuration     bool
	HasAmount       bool
	HasLabel        bool

	// Features holds extra numeric features; nil when the event has none.
	Features map[string]float64
}

// Time returns the event time as a UTC time.Time.
func (e *Event) Time() time.Time { return time.UnixMilli(e.EventTime).UTC() }
