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
	// fresh 00:00:00.001 u96887 click i1916
	// malformed rejected
	// fresh 00:00:00.038 u62082 like i1898
	// fresh 00:00:00.043 u51007 favorite i5938
	// malformed rejected
	// malformed rejected
	// 6 lines, 3 malformed
}
