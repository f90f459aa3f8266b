package source

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func init() {
	beam.RegisterType(reflect.TypeOf(Message{}))
}

// Message is one payload from a message queue, with what the dead letter
// keeps of it besides the payload.
type Message struct {
	// ID is the queue's message id.
	ID string
	// Data is the payload: one JSON event.
	Data []byte
	// Attributes are the message's attributes (Pub/Sub), kept for the
	// dead letter.
	Attributes map[string]string
	// PublishMillis is when the queue accepted the message, in
	// milliseconds since the Unix epoch.
	PublishMillis int64
}
