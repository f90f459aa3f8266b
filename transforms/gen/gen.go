// Package gen generates seeded, realistic streams of Pulse behaviour events
// as JSON lines, for load tests, benchmarks and end-to-end pipeline tests.
//
// The model is a simulated site: sessions arrive at a day-shaped rate, each
// for an idle user (a user's sessions are at least 30 minutes apart), and
// walk a funnel over items drawn from a Zipf popularity distribution: view,
// then sometimes like, comment, share, favorite, click or cart, and at the
// end of some sessions purchase and payment of carted items. On top of the
// model the generator injects the faults a pipeline must survive:
// duplicates, late (out-of-order) events and malformed payloads.
//
// A Generator is deterministic: the same Config yields the same bytes (for
// a given Go version and architecture, since the model uses floating point).
// The package has no Beam dependency.
package gen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// Config describes a generated stream. The zero value of a field selects
// its documented default, so Config{} is a usable configuration.
type Config struct {
	// Seed selects the stream; every Seed, including 0, is valid.
	Seed uint64
	// Users is the number of distinct users (default 100000). A session
	// needs an idle user and a user rests 30 minutes between sessions, so
	// with too few users for Rate the achieved rate falls short (it takes
	// roughly 500 users per event/s); Stats.String reports the achieved rate.
	Users int
	// Items is the number of distinct items (default 10000).
	Items int
	// Categories is the number of item categories (default 20).
	Categories int
	// Start is the event time of the stream's first moment (default
	// 2026-01-01T00:00:00Z). It must lie in [1970, 9000).
	Start time.Time
	// Rate is the site's mean event rate in events per second of event time,
	// averaged over a day (default 100). The instantaneous rate follows the
	// time of day (UTC): 1.6× at the 20:00 peak, 0.4× at the 08:00 trough.
	Rate float64
	// Duplicates is the fraction of lines that re-emit a recent valid line
	// byte for byte (same event_id), as at-least-once delivery does.
	Duplicates float64
	// Late is the fraction of lines whose event is held back and emitted
	// about LateLag (0.5–1.5×) of event time after it happened, so its
	// event_time is older than its neighbours'.
	Late float64
	// LateLag is the mean event-time delay of late events (default 2m).
	LateLag time.Duration
	// Malformed is the fraction of lines replaced by payloads the event
	// contract rejects: invalid JSON, an unknown action, a missing required
	// field, a negative watch_seconds, or a bad event_time.
	Malformed float64
}

// Defaults for the zero values of Config.
const (
	DefaultUsers      = 100000
	DefaultItems      = 10000
	DefaultCategories = 20
	DefaultRate       = 100.0
	DefaultLateLag    = 2 * time.Minute
)

// DefaultStart is the default Config.Start.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Kind classifies an emitted line.
type Kind uint8

const (
	// Fresh is a valid event emitted in event-time order.
	Fresh Kind = iota
	// Duplicate re-emits a recent Fresh line byte for byte.
	Duplicate
	// Late is a valid event emitted after events that happened after it.
	Late
	// Malformed is a payload that event.Decode rejects.
	Malformed
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Fresh:
		return "fresh"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	case Malformed:
		return "malformed"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Stats counts what a Generator has emitted. Lines = Valid + Malformed, and
// Valid includes Duplicates and Late.
type Stats struct {
	Lines      int64 // lines emitted
	Valid      int64 // lines that decode: fresh, duplicate or late
	Duplicates int64 // byte-identical repeats of earlier lines
	Late       int64 // valid lines emitted out of event-time order
	Malformed  int64 // lines the event contract rejects
	// Held counts late events generated but not yet emitted: a stream cut
	// short loses them, as a pipeline loses data later than its horizon.
	Held int64
	// Sessions counts sessions started.
	Sessions int64
	// Actions counts fresh and late lines by action (duplicates excluded).
	Actions [event.NumActions]int64
	// MinTime and MaxTime bound the event times, in Unix milliseconds, of
	// the valid lines; both are 0 until one is emitted.
	MinTime, MaxTime int64
}

// String summarises s on one line.
func (s Stats) String() string {
	b := fmt.Appendf(nil, "%d lines: %d valid (%d duplicate, %d late), %d malformed; %d sessions",
		s.Lines, s.Valid, s.Duplicates, s.Late, s.Malformed, s.Sessions)
	if s.Held > 0 {
		b = fmt.Appendf(b, "; %d late events still held", s.Held)
	}
	if s.Valid > 0 {
		b = fmt.Appendf(b, "; event time %s to %s",
			time.UnixMilli(s.MinTime).UTC().Format(time.RFC3339), time.UnixMilli(s.MaxTime).UTC().Format(time.RFC3339))
		if s.MaxTime > s.MinTime {
			b = fmt.Appendf(b, " (%.1f valid events/s)", float64(s.Valid)/(float64(s.MaxTime-s.MinTime)/1000))
		}
	}
	return string(b)
}

// Model constants. Times are in milliseconds.
const (
	msPerSecond = 1000.0
	msPerHour   = 3600 * msPerSecond
	// restMS separates a user's sessions: strictly more than the 30-minute
	// inactivity gap that sessionisation uses.
	restMS = 30*60*msPerSecond + msPerSecond
	// warmupMS is how long the site runs before Start, so that the stream
	// opens in a steady state instead of an empty site.
	warmupMS = 30 * 60 * msPerSecond
	// warmupEvents caps the warm-up work at high rates.
	warmupEvents = 2_000_000
	// dayAmplitude shapes the rate over the day: 1 ± dayAmplitude.
	dayAmplitude = 0.6
	peakHour     = 20.0
	zipfS        = 1.1 // item popularity exponent
	recent       = 16  // duplicates repeat one of the last recent fresh lines
	maxDuration  = 1200
	minDuration  = 15
	maxCart      = 8
)

// Generator produces an endless stream of event lines. It is not safe for
// concurrent use.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	zipf  *rand.Zipf
	start float64 // Config.Start in ms

	// Items, indexed by item number.
	rankItem []int32 // popularity rank → item, so popular ids are scattered
	items    []item
	catNames []string

	// Tables are arrays of structs, and sessions copy their user's row:
	// the generator is bound by cache misses, not arithmetic.
	users    []user
	idle     []int32 // users free to start a session
	resting  []rest  // users resting after a session, in ready order
	restHead int

	sessions    []live // min-heap on at
	free        []*session
	nextArrival float64
	sessionRate float64 // peak session arrivals per ms, for thinning
	clock       float64 // time of the latest model event

	// Fault injection: per-line probabilities derived from Config.
	pDup, pLate, pBad float64
	lag               float64
	held              []heldLine // min-heap on release
	spare             [][]byte
	ring              [recent][]byte // the last fresh lines, for duplicates
	ringN             int

	pending bool // ev holds a model event not yet used (after warm-up)
	ev      event.Event
	scratch []byte
	stats   Stats
}

type item struct {
	id    string // built on first use
	cents int32  // price
	dur   uint16 // seconds
	cat   uint16
}

type user struct {
	eng      float32 // engagement in (0.1, 1]
	dev, reg uint8
}

type rest struct {
	user  int32
	ready float64
}

type heldLine struct {
	release float64
	time    int64
	action  event.Action
	line    []byte
}

// step is one planned event of a session.
type step struct {
	at     float64
	item   int32
	watch  uint16 // tenths of a second, for views: exact in the output
	action event.Action
	text   uint8 // comment text index
}

// live is a heap entry: the key sits inline so that sifting does not chase
// pointers, which dominated the generator's profile.
type live struct {
	at float64 // time of s.plan[s.next]
	s  *session
}

// session is laid out for the cache: reading the next event touches the
// first 128 bytes (header and first steps), which sit in one line pair
// because the struct is exactly 256 bytes, a size class aligned to 256.
type session struct {
	plan    []step // backed by buf unless a large checkout spills
	next    int32
	user    int32
	uid     string
	u       user
	visits  int32 // item visits still to plan
	checked bool  // checkout planned
	buf     [8]step
	resume  float64 // when the next visit starts
	cart    []int32
	_       [32]byte
}

// New returns a Generator for cfg, or an error if cfg is invalid.
func New(cfg Config) (*Generator, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	g := &Generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x50756c7365)), // "Pulse"
		start: float64(cfg.Start.UnixMilli()),
		lag:   float64(cfg.LateLag.Milliseconds()),
	}
	g.initItems()
	g.initUsers()
	g.zipf = rand.NewZipf(g.rng, zipfS, 1, uint64(cfg.Items-1))

	// Lines split into duplicates, late and model events; malformed and
	// late are drawn per model event and duplicates per line not taken by
	// a due late event, so each lands at its configured fraction of lines.
	d := cfg.Duplicates
	g.pDup = d / (1 - cfg.Late)
	g.pLate = cfg.Late / (1 - d)
	g.pBad = cfg.Malformed / (1 - d)

	g.sessionRate = cfg.Rate * (1 + dayAmplitude) / g.eventsPerSession() / msPerSecond
	g.clock = g.start - math.Min(warmupMS, warmupEvents/cfg.Rate*msPerSecond)
	g.nextArrival = g.arrivalAfter(g.clock)
	g.warmUp()
	g.stats = Stats{} // count only what the stream shows
	return g, nil
}

// setDefaults validates c and replaces zero values by their defaults.
func (c *Config) setDefaults() error {
	switch {
	case c.Users < 0:
		return fmt.Errorf("users %d: must be positive", c.Users)
	case c.Items < 0:
		return fmt.Errorf("items %d: must be positive", c.Items)
	case c.Categories < 0:
		return fmt.Errorf("categories %d: must be positive", c.Categories)
	case c.Categories > math.MaxUint16:
		return fmt.Errorf("categories %d: at most %d", c.Categories, math.MaxUint16)
	case c.Users > math.MaxInt32 || c.Items > math.MaxInt32:
		return errors.New("users and items must fit in int32")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("rate %v: must be a positive number", c.Rate)
	case c.LateLag < 0:
		return fmt.Errorf("late lag %v: must not be negative", c.LateLag)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"duplicates", c.Duplicates}, {"late", c.Late}, {"malformed", c.Malformed}} {
		if !(f.v >= 0 && f.v < 1) {
			return fmt.Errorf("%s fraction %v: must be in [0, 1)", f.name, f.v)
		}
	}
	if s := c.Duplicates + c.Late + c.Malformed; s >= 1 {
		return fmt.Errorf("duplicates + late + malformed = %v: must be below 1", s)
	}
	if c.Users == 0 {
		c.Users = DefaultUsers
	}
	if c.Items == 0 {
		c.Items = DefaultItems
	}
	if c.Categories == 0 {
		c.Categories = DefaultCategories
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.LateLag == 0 {
		c.LateLag = DefaultLateLag
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if y := c.Start.UTC().Year(); y < 1970 || y >= 9000 {
		return fmt.Errorf("start %s: must lie in [1970, 9000)", c.Start.Format(time.RFC3339))
	}
	return nil
}

var categoryNames = []string{"music", "gaming", "news", "sports", "comedy", "education", "food", "travel",
	"tech", "fashion", "beauty", "fitness", "kids", "film", "autos", "pets", "science", "finance", "diy", "art"}

func (g *Generator) initItems() {
	n, r := g.cfg.Items, g.rng
	g.catNames = make([]string, g.cfg.Categories)
	for i := range g.catNames {
		if i < len(categoryNames) {
			g.catNames[i] = categoryNames[i]
		} else {
			g.catNames[i] = "category-" + strconv.Itoa(i+1)
		}
	}
	g.rankItem = make([]int32, n)
	for i := range g.rankItem {
		g.rankItem[i] = int32(i)
	}
	r.Shuffle(n, func(i, j int) { g.rankItem[i], g.rankItem[j] = g.rankItem[j], g.rankItem[i] })
	g.items = make([]item, n)
	lo, hi := math.Log(minDuration), math.Log(maxDuration)
	for i := range n {
		// Squaring skews category sizes: a few big categories, a long tail.
		u := r.Float64()
		it := &g.items[i]
		it.cat = uint16(u * u * float64(g.cfg.Categories))
		it.dur = uint16(math.Round(math.Exp(lo + r.Float64()*(hi-lo))))
		cents := math.Exp(r.NormFloat64()*0.9+3) * 100 // median $20
		it.cents = int32(math.Min(math.Max(math.Round(cents), 99), 99999))
	}
}

var (
	devices      = []string{"android", "ios", "web", "tv"}
	deviceWeight = []float64{0.45, 0.35, 0.15, 0.05}
	regions      = []string{"us-east", "us-west", "eu-west", "eu-central", "ap-south", "ap-northeast", "sa-east", "af-south"}
	regionWeight = []float64{0.25, 0.15, 0.20, 0.10, 0.12, 0.10, 0.05, 0.03}
	comments     = []string{"love this", "🔥🔥🔥", "so \"true\"", "first!", "where was this filmed?", "lol",
		"meh", "great explanation, thanks", "c'est magnifique", "1:23 is the best part", "¿dónde está?", "this\nis\ngold"}
)

func pick(r *rand.Rand, weights []float64) uint8 {
	u := r.Float64()
	for i, w := range weights {
		if u < w {
			return uint8(i)
		}
		u -= w
	}
	return uint8(len(weights) - 1)
}

func (g *Generator) initUsers() {
	n, r := g.cfg.Users, g.rng
	g.users = make([]user, n)
	g.idle = make([]int32, n)
	for i := range n {
		g.users[i] = user{
			dev: pick(r, deviceWeight),
			reg: pick(r, regionWeight),
			eng: float32(0.1 + 0.9*math.Pow(r.Float64(), 1.5)),
		}
		g.idle[i] = int32(i)
	}
}

// eventsPerSession estimates the model's mean session length by planning
// sessions with a private random source, so that session arrivals can be
// scaled to the configured event rate whatever the funnel's parameters.
func (g *Generator) eventsPerSession() float64 {
	sim := *g
	sim.rng = rand.New(rand.NewPCG(g.cfg.Seed, 0xca1))
	sim.zipf = rand.NewZipf(sim.rng, zipfS, 1, uint64(g.cfg.Items-1))
	const n = 4000
	var total int
	s := newSession()
	for range n {
		sim.startSession(s, int32(sim.rng.IntN(g.cfg.Users)), 0)
		for {
			total += len(s.plan)
			if !sim.replan(s) {
				break
			}
		}
	}
	return float64(total) / n
}

// warmUp runs the site from before Start without emitting, and keeps the
// first event at or after Start for Next.
func (g *Generator) warmUp() {
	for {
		s, st := g.advance()
		if st.at >= g.start {
			g.fill(s, st)
			g.pending = true
			return
		}
	}
}

// rateFactor is the day shape of the rate at time t (ms), averaging 1.
func rateFactor(t float64) float64 {
	h := math.Mod(t/msPerHour, 24)
	return 1 + dayAmplitude*math.Cos(2*math.Pi*(h-peakHour)/24)
}

// arrivalAfter draws the next session arrival after t by thinning a
// Poisson process at the peak rate down to the day-shaped rate.
func (g *Generator) arrivalAfter(t float64) float64 {
	for {
		t += g.rng.ExpFloat64() / g.sessionRate
		if g.rng.Float64()*(1+dayAmplitude) < rateFactor(t) {
			return t
		}
	}
}

// advance runs the simulation to its next event and returns it with its
// session, which stays intact until the next call even if it ended.
func (g *Generator) advance() (*session, step) {
	for {
		if len(g.sessions) > 0 && g.sessions[0].at <= g.nextArrival {
			s := g.sessions[0].s
			st := s.plan[s.next]
			s.next++
			g.clock = st.at
			if int(s.next) < len(s.plan) || g.replan(s) {
				g.sessions[0].at = s.plan[s.next].at
				g.down(0)
			} else {
				g.endSession(s, st.at)
			}
			return s, st
		}
		t := g.nextArrival
		user, ok := g.idleUser(t)
		if !ok {
			// Every user is busy or resting: arrivals until one is ready are
			// lost, and the process is memoryless, so restart it from then
			// (or from the next session end) rather than drawing each one.
			g.nextArrival = math.Inf(1)
			if g.restHead < len(g.resting) {
				g.nextArrival = g.arrivalAfter(g.resting[g.restHead].ready)
			}
			continue
		}
		g.nextArrival = g.arrivalAfter(t)
		g.clock = t
		var s *session
		if n := len(g.free); n > 0 {
			s, g.free = g.free[n-1], g.free[:n-1]
		} else {
			s = newSession()
		}
		g.startSession(s, user, t)
		g.stats.Sessions++
		g.sessions = append(g.sessions, live{at: s.plan[0].at, s: s})
		g.up(len(g.sessions) - 1)
	}
}

func (g *Generator) idleUser(t float64) (int32, bool) {
	for g.restHead < len(g.resting) && g.resting[g.restHead].ready <= t {
		g.idle = append(g.idle, g.resting[g.restHead].user)
		g.restHead++
	}
	if g.restHead > 1024 && g.restHead*2 > len(g.resting) {
		g.resting = g.resting[:copy(g.resting, g.resting[g.restHead:])]
		g.restHead = 0
	}
	n := len(g.idle)
	if n == 0 {
		return 0, false
	}
	i := g.rng.IntN(n)
	u := g.idle[i]
	g.idle[i] = g.idle[n-1]
	g.idle = g.idle[:n-1]
	return u, true
}

// endSession removes the heap's top session s, which ended at t.
func (g *Generator) endSession(s *session, t float64) {
	n := len(g.sessions) - 1
	g.sessions[0] = g.sessions[n]
	g.sessions[n] = live{}
	g.sessions = g.sessions[:n]
	if n > 0 {
		g.down(0)
	}
	// Sessions end in time order, so resting stays sorted by ready.
	g.resting = append(g.resting, rest{user: s.user, ready: t + restMS})
	if math.IsInf(g.nextArrival, 1) {
		g.nextArrival = g.arrivalAfter(t + restMS)
	}
	g.free = append(g.free, s)
}

func (g *Generator) up(i int) {
	h := g.sessions
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (g *Generator) down(i int) {
	h := g.sessions
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].at < h[c].at {
			c++
		}
		if h[i].at <= h[c].at {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func newSession() *session { return &session{} }

// startSession resets s for user at time t and plans its first visit.
func (g *Generator) startSession(s *session, user int32, t float64) {
	s.user, s.u, s.uid, s.next, s.checked = user, g.users[user], "", 0, false
	s.plan = s.buf[:0] // drop any spilled plan
	eng := float64(s.u.eng)
	s.cart = s.cart[:0]
	// Engaged users browse longer: geometric with mean 1/(1-p).
	p := 0.55 + 0.35*eng
	s.visits = 1
	for s.visits < 40 && g.rng.Float64() < p {
		s.visits++
	}
	s.resume = t
	g.replan(s)
}

// replan plans the session's next visit or its checkout, and reports
// whether there is anything left to do.
func (g *Generator) replan(s *session) bool {
	s.plan, s.next = s.plan[:0], 0
	if s.visits > 0 {
		s.visits--
		g.planVisit(s)
		return true
	}
	if len(s.cart) > 0 && !s.checked {
		s.checked = true
		g.planCheckout(s)
		return len(s.plan) > 0
	}
	return false
}

// planVisit plans a view of one item at s.resume and what the user does
// while watching it.
func (g *Generator) planVisit(s *session) {
	r := g.rng
	t := s.resume
	item := g.rankItem[g.zipf.Uint64()]
	dur := float64(g.items[item].dur)
	eng := float64(s.u.eng)
	var frac float64
	if r.Float64() < 0.25*(1-eng) {
		frac = 0.1 * r.Float64() // a bounce
	} else {
		frac = math.Min(1, eng*(0.2+1.2*r.Float64()))
	}
	// Tenths of a second, rounded down: never above the duration.
	watch := math.Floor(frac * dur * 10)
	s.plan = append(s.plan, step{at: t, item: item, action: event.View, watch: uint16(watch)})
	watch /= 10

	span := math.Max(watch, 2) * msPerSecond
	ef := eng * frac
	extra := func(a event.Action, p float64) {
		if r.Float64() < p {
			st := step{at: t + (0.2+0.8*r.Float64())*span, item: item, action: a}
			if a == event.Comment {
				st.text = uint8(r.IntN(len(comments)))
			}
			s.plan = append(s.plan, st)
		}
	}
	extra(event.Like, 0.04+0.30*ef)
	extra(event.Comment, 0.01+0.06*ef)
	extra(event.Share, 0.01+0.05*ef)
	extra(event.Favorite, 0.02+0.10*ef)
	extra(event.Click, 0.08+0.10*eng)
	if len(s.cart) < maxCart {
		n := len(s.plan)
		extra(event.Cart, 0.03+0.15*ef)
		if len(s.plan) > n {
			s.cart = append(s.cart, item)
		}
	}
	sortSteps(s.plan[1:])
	s.resume = t + span + 500 + math.Min(r.ExpFloat64()*5000, 60000)
}

// planCheckout plans purchases, each usually followed by its payment, for
// some of the carted items, or nothing when the user abandons the cart.
func (g *Generator) planCheckout(s *session) {
	r := g.rng
	eng := float64(s.u.eng)
	if r.Float64() >= 0.30+0.45*eng {
		return
	}
	t := s.resume + 10000 + 50000*r.Float64()
	for i, item := range s.cart {
		if i > 0 && r.Float64() >= 0.7 {
			continue
		}
		s.plan = append(s.plan, step{at: t, item: item, action: event.Purchase})
		t += 2000 + 10000*r.Float64()
		if r.Float64() < 0.95 {
			s.plan = append(s.plan, step{at: t, item: item, action: event.Payment})
			t += 1000 + 4000*r.Float64()
		}
	}
}

func sortSteps(p []step) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].at < p[j-1].at; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// fill renders a model event of session s into g.ev.
func (g *Generator) fill(s *session, st step) {
	if s.uid == "" {
		s.uid = "u" + strconv.Itoa(int(s.user)+1)
	}
	it := &g.items[st.item]
	if it.id == "" {
		it.id = "i" + strconv.Itoa(int(st.item)+1)
	}
	e := &g.ev
	*e = event.Event{
		EventID:   g.uuid(),
		UserID:    s.uid,
		ItemID:    it.id,
		Action:    st.action,
		EventTime: int64(st.at),
		Category:  g.catNames[it.cat],
		Device:    devices[s.u.dev],
		Region:    regions[s.u.reg],
	}
	switch st.action {
	case event.View:
		e.WatchSeconds, e.HasWatch = float64(st.watch)/10, true
		e.DurationSeconds, e.HasDuration = float64(it.dur), true
	case event.Comment:
		e.Text = comments[st.text]
	case event.Purchase, event.Payment:
		e.Amount, e.HasAmount = float64(it.cents)/100, true
	}
}

// hexPairs holds the two hex digits of every byte value.
const hexPairs = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" +
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" +
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" +
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf" +
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

// uuid returns a random version 4 UUID, as sites' SDKs mint event ids.
func (g *Generator) uuid() string {
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var b [36]byte
	j := 0
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		w := hi
		if i >= 8 {
			w = lo
		}
		v := int(byte(w>>(56-8*(i%8)))) * 2
		b[j], b[j+1] = hexPairs[v], hexPairs[v+1]
		j += 2
	}
	return string(b[:])
}

// Now returns the simulation's event-time clock: the time of the latest
// event the model produced. Pacing output to it replays the stream in real
// time.
func (g *Generator) Now() time.Time { return time.UnixMilli(int64(g.clock)).UTC() }

// Stats returns counts of what has been emitted so far.
func (g *Generator) Stats() Stats {
	s := g.stats
	s.Held = int64(len(g.held))
	return s
}

// Next appends the next line, without a trailing newline, to buf and
// returns the extended buffer and the line's kind.
func (g *Generator) Next(buf []byte) ([]byte, Kind) {
	g.stats.Lines++
	if len(g.held) > 0 && g.held[0].release <= g.clock {
		h := g.popHeld()
		buf = append(buf, h.line...)
		g.spare = append(g.spare, h.line[:0])
		g.stats.Late++
		g.valid(h.action, h.time)
		return buf, Late
	}
	if g.pDup > 0 && g.ringN > 0 && g.rng.Float64() < g.pDup {
		n := min(g.ringN, recent)
		buf = append(buf, g.ring[(g.ringN-1-g.rng.IntN(n))%recent]...)
		g.stats.Valid++
		g.stats.Duplicates++
		return buf, Duplicate
	}
	for {
		if g.pending {
			g.pending = false
		} else {
			g.fill(g.advance())
		}
		u := g.rng.Float64()
		switch {
		case u < g.pBad:
			g.stats.Malformed++
			return g.malform(buf), Malformed
		case u < g.pBad+g.pLate:
			g.hold()
			continue
		}
		start := len(buf)
		buf = g.ev.AppendJSON(buf)
		if g.pDup > 0 {
			r := &g.ring[g.ringN%recent]
			*r = append((*r)[:0], buf[start:]...)
			g.ringN++
		}
		g.valid(g.ev.Action, g.ev.EventTime)
		return buf, Fresh
	}
}

func (g *Generator) valid(a event.Action, t int64) {
	s := &g.stats
	s.Valid++
	s.Actions[a]++
	if s.Valid == 1 || t < s.MinTime {
		s.MinTime = t
	}
	if t > s.MaxTime {
		s.MaxTime = t
	}
}

// hold encodes the current event and keeps it until the clock passes its
// release time.
func (g *Generator) hold() {
	var line []byte
	if n := len(g.spare); n > 0 {
		line, g.spare = g.spare[n-1], g.spare[:n-1]
	}
	h := heldLine{
		release: float64(g.ev.EventTime) + g.lag*(0.5+g.rng.Float64()),
		time:    g.ev.EventTime,
		action:  g.ev.Action,
		line:    g.ev.AppendJSON(line),
	}
	g.held = append(g.held, h)
	for i := len(g.held) - 1; i > 0; {
		p := (i - 1) / 2
		if g.held[p].release <= g.held[i].release {
			break
		}
		g.held[p], g.held[i] = g.held[i], g.held[p]
		i = p
	}
}

func (g *Generator) popHeld() heldLine {
	h := g.held
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].release < h[c].release {
			c++
		}
		if h[i].release <= h[c].release {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	g.held = h
	return top
}

// Lines generates n lines of the stream cfg describes, each ending in a
// newline: a whole JSON-lines file, for tests and benchmarks.
func Lines(cfg Config, n int) ([]byte, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var buf []byte
	for range n {
		buf, _ = g.Next(buf)
		buf = append(buf, '\n')
	}
	return buf, nil
}
