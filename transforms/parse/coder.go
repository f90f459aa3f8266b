package parse

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// Events cross stage boundaries in their compact binary form: the default
// schema coder is several times slower for a struct of this shape.
func init() {
	beam.RegisterCoder(reflect.TypeOf(event.Event{}), encodeEvent, decodeEvent)
	register.Function1x1(encodeEvent)
	register.Function1x2(decodeEvent)
}

func encodeEvent(e event.Event) []byte { return e.AppendBinary(make([]byte, 0, 128)) }

func decodeEvent(b []byte) (event.Event, error) {
	var e event.Event
	err := e.UnmarshalBinary(b)
	return e, err
}
