package rollup

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
)

func ev(user string, a event.Action, watch, amount float64) event.Event {
	return event.Event{EventID: user, UserID: user, ItemID: "i", Action: a, Category: "c",
		WatchSeconds: watch, HasWatch: watch > 0, Amount: amount, HasAmount: amount != 0}
}

// Merging partials in any order gives the same Metrics as adding every
// event to one: the sums are integers, so addition order cannot matter.
func TestMergeEqualsAddAndIsOrderFree(t *testing.T) {
	var events []event.Event
	for i := range 3000 {
		events = append(events, ev(fmt.Sprintf("u%d", i%1500), event.Actions[i%len(event.Actions)], 0.1*float64(i%7), 0.01*float64(i%13)))
	}
	var whole Metrics
	for i := range events {
		whole.Add(&events[i])
	}
	for _, parts := range []int{2, 7, 300} {
		partials := make([]Metrics, parts)
		for i := range events {
			partials[i%parts].Add(&events[i])
		}
		var fwd, back Metrics
		for i := range partials {
			fwd.Merge(&partials[i])
			back.Merge(&partials[len(partials)-1-i])
		}
		for _, m := range []Metrics{fwd, back} {
			if m.Actions != whole.Actions || m.WatchMicros != whole.WatchMicros || m.AmountMicros != whole.AmountMicros ||
				m.WatchedView != whole.WatchedView || m.Category != whole.Category {
				t.Errorf("%d partials: merged %+v, want %+v", parts, m, whole)
			}
		}
	}
	if got, want := whole.Users.Count(), int64(1500); whole.Users.Exact() || got < want*98/100 || got > want*102/100 {
		t.Errorf("users = %d (exact %v), want about %d from the sketch", got, whole.Users.Exact(), want)
	}
}

func TestUsersExactBelowThreshold(t *testing.T) {
	var u Users
	for i := range ExactUsers {
		u.Add(fmt.Sprintf("user-%d", i))
		u.Add(fmt.Sprintf("user-%d", i))
	}
	if !u.Exact() || u.Count() != ExactUsers {
		t.Errorf("count %d exact %v, want exactly %d", u.Count(), u.Exact(), ExactUsers)
	}
	u.Add("one-more")
	if u.Exact() {
		t.Error("still exact above the threshold")
	}
}

func TestCoderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 3, ExactUsers + 10} {
		var m Metrics
		for i := range n {
			e := ev(fmt.Sprintf("u%d", i), event.View, 12.5, -3.25)
			m.Add(&e)
		}
		b, err := encodeMetrics(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMetrics(b)
		if err != nil {
			t.Fatalf("%d users: %v", n, err)
		}
		if got.Actions != m.Actions || got.WatchMicros != m.WatchMicros || got.AmountMicros != m.AmountMicros ||
			got.Users.Count() != m.Users.Count() || got.Category != m.Category {
			t.Errorf("%d users: round trip %+v, want %+v", n, got, m)
		}
		if n <= ExactUsers && !reflect.DeepEqual(got.Users.set, m.Users.set) && n > 0 {
			t.Errorf("%d users: exact set changed in the round trip", n)
		}
		// Truncated input is an error (the exact set) or at least no panic
		// (a sketch's tail can look complete).
		for cut := range len(b) {
			if _, err := decodeMetrics(b[:cut]); err == nil && n < ExactUsers {
				t.Errorf("%d users: truncated to %d bytes decoded without error", n, cut)
				break
			}
		}
	}
}
