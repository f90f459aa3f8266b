package gen_test

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
)

type line struct {
	b []byte
	k gen.Kind
}

func generate(t *testing.T, cfg gen.Config, n int) ([]line, *gen.Generator) {
	t.Helper()
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	lines := make([]line, n)
	var buf []byte
	for i := range lines {
		var start = len(buf)
		buf, lines[i].k = g.Next(buf)
		lines[i].b = buf[start:len(buf):len(buf)]
	}
	return lines, g
}

func decode(t *testing.T, l line) event.Event {
	t.Helper()
	e, err := event.Decode(l.b)
	if err != nil {
		t.Fatalf("%s line does not decode: %v\n%s", l.k, err, l.b)
	}
	return e
}

var faulty = gen.Config{Seed: 7, Duplicates: 0.05, Late: 0.05, Malformed: 0.05, LateLag: 10 * time.Second}

func TestDeterministic(t *testing.T) {
	a, ga := generate(t, faulty, 5000)
	b, gb := generate(t, faulty, 5000)
	for i := range a {
		if !bytes.Equal(a[i].b, b[i].b) || a[i].k != b[i].k {
			t.Fatalf("line %d differs between runs:\n%s %s\n%s %s", i, a[i].k, a[i].b, b[i].k, b[i].b)
		}
	}
	if ga.Stats() != gb.Stats() {
		t.Errorf("stats differ: %v vs %v", ga.Stats(), gb.Stats())
	}
	other := faulty
	other.Seed++
	c, _ := generate(t, other, 10)
	if bytes.Equal(a[0].b, c[0].b) && bytes.Equal(a[1].b, c[1].b) {
		t.Errorf("seeds %d and %d start the same: %s", faulty.Seed, other.Seed, a[0].b)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  gen.Config
		want string
	}{
		{"negative users", gen.Config{Users: -1}, "users"},
		{"negative items", gen.Config{Items: -5}, "items"},
		{"negative categories", gen.Config{Categories: -1}, "categories"},
		{"too many categories", gen.Config{Categories: 1 << 20}, "categories"},
		{"negative rate", gen.Config{Rate: -1}, "rate"},
		{"NaN rate", gen.Config{Rate: math.NaN()}, "rate"},
		{"infinite rate", gen.Config{Rate: math.Inf(1)}, "rate"},
		{"negative lag", gen.Config{LateLag: -time.Second}, "late lag"},
		{"duplicates 1", gen.Config{Duplicates: 1}, "duplicates"},
		{"negative late", gen.Config{Late: -0.1}, "late"},
		{"NaN malformed", gen.Config{Malformed: math.NaN()}, "malformed"},
		{"fractions sum to 1", gen.Config{Duplicates: 0.4, Late: 0.3, Malformed: 0.3}, "below 1"},
		{"start before 1970", gen.Config{Start: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}, "start"},
		{"start after 9000", gen.Config{Start: time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)}, "start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := gen.New(tt.cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want an error", tt.cfg, g)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "gen: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want \"gen: \" and %q", msg, tt.want)
			}
		})
	}
}

func TestFractions(t *testing.T) {
	const n = 20000
	lines, g := generate(t, faulty, n)
	s := g.Stats()
	var kinds [4]int64
	for _, l := range lines {
		kinds[l.k]++
	}
	if s.Lines != n || s.Valid+s.Malformed != s.Lines {
		t.Errorf("stats do not reconcile: %+v", s)
	}
	if kinds[gen.Duplicate] != s.Duplicates || kinds[gen.Late] != s.Late || kinds[gen.Malformed] != s.Malformed ||
		kinds[gen.Fresh]+kinds[gen.Duplicate]+kinds[gen.Late] != s.Valid {
		t.Errorf("kinds %v disagree with stats %+v", kinds, s)
	}
	var actions int64
	for _, c := range s.Actions {
		actions += c
	}
	if actions != s.Valid-s.Duplicates {
		t.Errorf("actions sum to %d, want valid - duplicates = %d", actions, s.Valid-s.Duplicates)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"duplicates", float64(s.Duplicates) / n, faulty.Duplicates},
		// Late events still held at the cut are late all the same.
		{"late", float64(s.Late+s.Held) / n, faulty.Late},
		{"malformed", float64(s.Malformed) / n, faulty.Malformed},
	} {
		// The binomial standard deviation is 0.0015; allow about 5 of them.
		if math.Abs(f.got-f.want) > 0.008 {
			t.Errorf("%s fraction %.4f, want %.2f ± 0.008", f.name, f.got, f.want)
		}
	}

	clean, g := generate(t, gen.Config{Seed: 1}, 2000)
	for i, l := range clean {
		if l.k != gen.Fresh {
			t.Fatalf("line %d is %s with no faults configured", i, l.k)
		}
	}
	if s := g.Stats(); s.Valid != 2000 || s.Held != 0 {
		t.Errorf("fault-free stats %+v", s)
	}
}

// reasonKinds maps decoder reasons to the malformed kinds pulsegen promises.
var reasonKinds = []struct{ kind, substr string }{
	{"invalid JSON", "invalid JSON"},
	{"invalid JSON", "invalid UTF-8"},
	{"invalid JSON", "unexpected data after"},
	{"invalid JSON", "expected a string"}, // cut after a colon
	{"unknown action", "unknown action"},
	{"missing field", "missing required field"},
	{"negative watch", "negative watch_seconds"},
	{"bad time", "event_time"},
}

func TestLinesAgainstContract(t *testing.T) {
	cfg := faulty
	lines, _ := generate(t, cfg, 20000)
	var (
		fresh    [][]byte // fresh lines in order
		ids      = map[string]bool{}
		maxTime  int64
		reasons  = map[string]int{}
		start    = gen.DefaultStart.UnixMilli()
		lag      = cfg.LateLag.Milliseconds()
		minLate  = int64(math.MaxInt64)
		lateSeen int
	)
	for i, l := range lines {
		if l.k == gen.Malformed {
			_, err := event.Decode(l.b)
			var de *event.Error
			if !errors.As(err, &de) {
				t.Fatalf("line %d: malformed line decodes (err %v):\n%s", i, err, l.b)
			}
			kind := ""
			for _, rk := range reasonKinds {
				if strings.Contains(de.Reason, rk.substr) {
					kind = rk.kind
					break
				}
			}
			if kind == "" {
				t.Errorf("line %d: unexpected reason %q", i, de.Reason)
			}
			reasons[kind]++
			continue
		}
		e := decode(t, l)
		switch l.k {
		case gen.Fresh:
			if ids[e.EventID] {
				t.Fatalf("line %d: fresh event_id %s repeats", i, e.EventID)
			}
			ids[e.EventID] = true
			if e.EventTime < maxTime || e.EventTime < start {
				t.Fatalf("line %d: fresh event at %d before %d (or Start)", i, e.EventTime, maxTime)
			}
			fresh = append(fresh, l.b)
		case gen.Duplicate:
			recent := fresh[max(0, len(fresh)-16):]
			if !slices.ContainsFunc(recent, func(b []byte) bool { return bytes.Equal(b, l.b) }) {
				t.Fatalf("line %d: duplicate is not one of the last 16 fresh lines:\n%s", i, l.b)
			}
		case gen.Late:
			if ids[e.EventID] {
				t.Fatalf("line %d: late event_id %s repeats", i, e.EventID)
			}
			ids[e.EventID] = true
			if e.EventTime >= maxTime {
				t.Fatalf("line %d: late event at %d is not older than its predecessors (%d)", i, e.EventTime, maxTime)
			}
			minLate = min(minLate, maxTime-e.EventTime)
			lateSeen++
		}
		maxTime = max(maxTime, e.EventTime)
	}
	if lateSeen == 0 || minLate < lag/2-1000 {
		t.Errorf("%d late lines, smallest lag %dms; want some, all ≥ %dms", lateSeen, minLate, lag/2-1000)
	}
	for _, k := range []string{"invalid JSON", "unknown action", "missing field", "negative watch", "bad time"} {
		if reasons[k] < 50 {
			t.Errorf("only %d malformed lines of kind %q (all: %v)", reasons[k], k, reasons)
		}
	}
}

func TestFunnel(t *testing.T) {
	lines, _ := generate(t, gen.Config{Seed: 3}, 20000)
	type key struct{ user, item string }
	type user struct {
		first, last int64 // event times
		sessions    int   // sessions seen, by 30-minute gaps
		carts       map[string]bool
		purchases   map[string]float64
	}
	var (
		count   [event.NumActions]int
		users   = map[string]*user{}
		profile = map[string][2]string{}
		start   = gen.DefaultStart.UnixMilli()
		checked int
		events  []event.Event
	)
	for _, l := range lines {
		events = append(events, decode(t, l))
	}
	for _, e := range events {
		count[e.Action]++
		u := users[e.UserID]
		if u == nil || e.EventTime-u.last > 30*60*1000 {
			if u == nil {
				u = &user{first: e.EventTime}
				users[e.UserID] = u
			}
			u.sessions++
			u.carts, u.purchases = map[string]bool{}, map[string]float64{}
		}
		u.last = e.EventTime
		// A session that was running at Start may have carted or bought
		// before the stream began.
		partial := u.sessions == 1 && u.first-start < 22*60*1000
		if p, ok := profile[e.UserID]; ok && p != [2]string{e.Device, e.Region} {
			t.Fatalf("user %s changed device/region: %v then %v", e.UserID, p, [2]string{e.Device, e.Region})
		}
		profile[e.UserID] = [2]string{e.Device, e.Region}
		if e.HasWatch != (e.Action == event.View) || e.HasDuration != (e.Action == event.View) {
			t.Fatalf("watch/duration on a %s: %+v", e.Action, e)
		}
		if e.HasAmount != (e.Action == event.Purchase || e.Action == event.Payment) {
			t.Fatalf("amount on a %s: %+v", e.Action, e)
		}
		if (e.Text != "") != (e.Action == event.Comment) {
			t.Fatalf("text on a %s: %+v", e.Action, e)
		}
		if e.Category == "" || e.Device == "" || e.Region == "" {
			t.Fatalf("missing category, device or region: %+v", e)
		}
		switch e.Action {
		case event.View:
			if e.WatchSeconds > e.DurationSeconds || e.DurationSeconds < 15 || e.DurationSeconds > 1200 {
				t.Fatalf("view watched %vs of %vs", e.WatchSeconds, e.DurationSeconds)
			}
		case event.Cart:
			u.carts[e.ItemID] = true
		case event.Purchase:
			switch {
			case u.carts[e.ItemID]:
				checked++
			case !partial:
				t.Fatalf("purchase without a cart in its session: %+v", e)
			}
			if e.Amount <= 0 || e.Amount != math.Round(e.Amount*100)/100 {
				t.Fatalf("purchase amount %v", e.Amount)
			}
			u.purchases[e.ItemID] = e.Amount
		case event.Payment:
			if a, ok := u.purchases[e.ItemID]; !ok && !partial || ok && a != e.Amount {
				t.Fatalf("payment %+v does not follow a purchase of the same amount (%v, %v)", e, a, ok)
			}
		}
	}
	t.Logf("actions: %v; %d purchases checked against carts", count, checked)
	if checked == 0 {
		t.Error("no purchase could be checked against its cart")
	}
	if !(count[event.View] > count[event.Click] && count[event.Click] > count[event.Cart] &&
		count[event.Cart] >= count[event.Purchase] && count[event.Purchase] >= count[event.Payment] && count[event.Payment] > 0) {
		t.Errorf("funnel is not shaped like one: %v", count)
	}
	if v := count[event.View]; v < len(events)/3 {
		t.Errorf("%d views of %d events; views should dominate", v, len(events))
	}
	for _, a := range event.Actions {
		if count[a] == 0 {
			t.Errorf("no %s events", a)
		}
	}
}

func TestSessions(t *testing.T) {
	// Few users at a low rate, so users come back after resting.
	lines, g := generate(t, gen.Config{Seed: 5, Users: 300, Rate: 4}, 10000)
	times := map[string][]int64{}
	for _, l := range lines {
		e := decode(t, l)
		times[e.UserID] = append(times[e.UserID], e.EventTime)
	}
	var within, between int
	for u, ts := range times {
		for i := 1; i < len(ts); i++ {
			gap := time.Duration(ts[i]-ts[i-1]) * time.Millisecond
			switch {
			case gap > 30*time.Minute:
				between++
			case gap > 22*time.Minute:
				t.Fatalf("user %s: gap of %v is neither inside a session nor between two", u, gap)
			default:
				within++
			}
		}
	}
	if between < 100 || within < 2*between {
		t.Errorf("%d gaps within sessions, %d between; want bursts separated by rests", within, between)
	}
	t.Logf("%d gaps within sessions, %d between; %v", within, between, g.Stats())
}

func TestZipf(t *testing.T) {
	const items = 1000
	lines, _ := generate(t, gen.Config{Seed: 9, Items: items}, 20000)
	views := map[string]int{}
	for _, l := range lines {
		if e := decode(t, l); e.Action == event.View {
			views[e.ItemID]++
		}
	}
	counts := make([]int, 0, items)
	for _, c := range views {
		counts = append(counts, c)
	}
	counts = append(counts, make([]int, items-len(counts))...) // unseen items
	slices.Sort(counts)
	top, median := counts[items-1], max(counts[items/2], 1)
	if top < 20*median {
		t.Errorf("top item %d views, median %d: want a heavy head", top, median)
	}
	t.Logf("views per item: top %d, p90 %d, median %d", top, counts[items*9/10], counts[items/2])
}

func TestRate(t *testing.T) {
	const rate, n = 50.0, 20000
	observed := func(hour int) float64 {
		start := time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC)
		lines, g := generate(t, gen.Config{Seed: 11, Rate: rate, Start: start}, n)
		last := decode(t, lines[n-1]).EventTime
		if first := decode(t, lines[0]).EventTime; first-start.UnixMilli() > 1000 {
			t.Errorf("first event %dms after Start: the site should be warm", first-start.UnixMilli())
		}
		if got := g.Now().UnixMilli(); got != last {
			t.Errorf("Now() = %d, want the last event's time %d", got, last)
		}
		return n / (float64(last-start.UnixMilli()) / 1000)
	}
	peak, trough := observed(20), observed(8)
	if math.Abs(peak/(1.6*rate)-1) > 0.2 {
		t.Errorf("rate at the 20:00 peak %.1f/s, want about %.0f/s", peak, 1.6*rate)
	}
	if math.Abs(trough/(0.4*rate)-1) > 0.2 {
		t.Errorf("rate at the 08:00 trough %.1f/s, want about %.0f/s", trough, 0.4*rate)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[gen.Kind]string{gen.Fresh: "fresh", gen.Duplicate: "duplicate", gen.Late: "late", gen.Malformed: "malformed", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
