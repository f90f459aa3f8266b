package feature_test

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models/feature"
)

func ExampleBuilder() {
	b, _ := feature.New(feature.Config{Bits: 18, Interactions: [][2]string{{"user", "item"}}, Bias: true})
	user, item := b.Group("user"), b.Group("item") // once, outside the event loop

	b.Reset() // per event
	b.Categorical(user, "country", "FR")
	b.Numeric(item, "price", 9.5)
	x := b.Vector()
	for k := range x.Index {
		fmt.Printf("%#05x %v\n", x.Index[k], x.Value[k])
	}
	// Output:
	// 0x10daf 1
	// 0x09fae 9.5
	// 0x2a35d 9.5
	// 0x3ffb5 1
}
