// Package deadletter defines the dead-letter row: every input that a
// pipeline cannot use ends up as one, with the reason, instead of crashing
// the pipeline or vanishing.
package deadletter

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Table is the name of the dead-letter table.
const Table = "dead_letter"

// MaxRaw bounds the raw payload kept in a row, in bytes.
const MaxRaw = 64 << 10

func init() {
	beam.RegisterType(reflect.TypeOf(Row{}))
}

// Row is one rejected input.
type Row struct {
	// Raw is the input as received, truncated to MaxRaw bytes on a UTF-8
	// boundary (invalid UTF-8 is kept as received; JSON output replaces it).
	Raw string `json:"raw" bigquery:"raw"`
	// Error says why the input was rejected.
	Error string `json:"error" bigquery:"error"`
	// Source names where the input came from: a file glob or a subscription.
	Source string `json:"source" bigquery:"source"`
	// SeenAt is when the pipeline rejected it, RFC 3339 UTC.
	SeenAt string `json:"seen_at" bigquery:"seen_at"`
	// Attributes holds the message attributes of a Pub/Sub message, as a
	// JSON object, or "" for file input.
	Attributes string `json:"attributes,omitempty" bigquery:"attributes"`
}

// InsertID identifies the rejection for a sink that de-duplicates on it
// (BigQuery's insert ids): the payload, the reason, the source and the
// attributes, not SeenAt, which a retried bundle sets anew.
func (r Row) InsertID() string {
	h := sha256.New()
	for _, s := range []string{r.Raw, r.Error, r.Source, r.Attributes} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "dl-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// New makes a row for raw, rejected for reason.
func New(raw []byte, reason, source string, seenAt time.Time) Row {
	return Row{Raw: Truncate(raw), Error: reason, Source: source, SeenAt: seenAt.UTC().Format(time.RFC3339Nano)}
}

// Truncate returns raw as a string of at most MaxRaw bytes, cut on a rune
// boundary where the input is UTF-8.
func Truncate(raw []byte) string {
	if len(raw) <= MaxRaw {
		return string(raw)
	}
	n := MaxRaw
	for n > MaxRaw-utf8.UTFMax && n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n])
}
