package gen_test

import (
	"fmt"
	"log"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
)

func Example() {
	g, err := gen.New(gen.Config{Seed: 42, Malformed: 0.2})
	if err != nil {
		log.Fatal(err)
	}
	var line []byte
	for range 6 {
		var kind gen.Kind
		line, kind = g.Next(line[:0])
		e, err := event.Decode(line)
		if err != nil {
			fmt.Println(kind, "rejected")
			continue
		}
		fmt.Println(kind, e.Time().Format("15:04:05.000"), e.UserID, e.Action, e.ItemID)
	}
	s := g.Stats()
	fmt.Println(s.Lines, "lines,", s.Malformed, "malformed")
	// Output:
	// malformed rejected
	// fresh 00:00:00.024 u58976 view i5051
	// fresh 00:00:00.028 u90827 view i1234
	// malformed rejected
	// fresh 00:00:00.051 u36889 view i1553
	// fresh 00:00:00.068 u16196 like i5540
	// 6 lines, 2 malformed
}
