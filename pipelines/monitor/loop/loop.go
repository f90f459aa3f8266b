// Package loop computes the monitor's batch tables from a file of events in
// one plain, single-threaded Go loop with maps, without Beam. It is the
// baseline the benchmark (cmd/pulsebench) measures the pipeline against,
// and an independent check of the pipeline's results.
//
// It follows the job's batch rules: decode, clean, drop repeated event_ids,
// then item and category metrics per fixed window, trending over sliding
// windows (global and per category, ties by item_id) and user sessions
// split at inactivity gaps. It computes no alerts, and unique users are
// always exact (the pipeline switches to a sketch for very large keys).
package loop

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/clean"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

// Config sets the windows, as monitor.Config does; zero fields take the
// monitor's defaults (1-minute windows, trending top 10 over 5 minutes
// every minute, 30-minute session gap).
type Config struct {
	Window         time.Duration
	TrendingSize   time.Duration
	TrendingPeriod time.Duration
	K              int
	SessionGap     time.Duration
}

func (c Config) withDefaults() Config {
	m := monitor.Config{Window: c.Window, SessionGap: c.SessionGap}.WithDefaults()
	t := trending.Config{Size: c.TrendingSize, Period: c.TrendingPeriod, K: c.K}.WithDefaults()
	return Config{Window: m.Window, TrendingSize: t.Size, TrendingPeriod: t.Period, K: t.K, SessionGap: m.SessionGap}
}

// Stats counts the input lines and what became of them.
type Stats struct {
	Lines, Parsed, Dead, Duplicates int64
}

// Tables are the loop's outputs, as rows of the monitor's tables, each
// with the final ON_TIME pane that a batch run of the pipeline writes.
// Rows are sorted by window start, then key.
type Tables struct {
	ItemMetrics     []monitor.ItemMetrics
	CategoryMetrics []monitor.CategoryMetrics
	Trending        []trending.Row
	UserSessions    []sessions.Row
	Stats           Stats
}

// agg is one key's activity in one window.
type agg struct {
	category  string // smallest seen
	actions   [event.NumActions]int64
	users     map[string]struct{}
	watchSum  float64
	watched   int64
	amountSum float64
}

func (a *agg) add(e *event.Event) {
	if a.category == "" || e.Category < a.category {
		a.category = e.Category
	}
	a.actions[0]++
	a.actions[e.Action]++
	if a.users == nil {
		a.users = make(map[string]struct{})
	}
	a.users[e.UserID] = struct{}{}
	if e.Action == event.View && e.HasWatch {
		a.watchSum += e.WatchSeconds
		a.watched++
	}
	if e.HasAmount {
		a.amountSum += e.Amount
	}
}

func (a *agg) columns() monitor.ActivityColumns {
	x := &a.actions
	return monitor.ActivityColumns{
		Events: x[0], Views: x[event.View], Clicks: x[event.Click], Likes: x[event.Like],
		Comments: x[event.Comment], Shares: x[event.Share], Favorites: x[event.Favorite],
		Carts: x[event.Cart], Purchases: x[event.Purchase], Payments: x[event.Payment],
		UniqueUsers: int64(len(a.users)), WatchSecondsSum: a.watchSum, WatchedViews: a.watched, AmountSum: a.amountSum,
	}
}

type winKey struct {
	start int64
	key   string
}

type tally struct{ events, views int64 }

type hit struct {
	time   int64
	item   string
	action event.Action
}

// Run reads JSON-lines events from r and computes the tables.
func Run(r io.Reader, cfg Config) (Tables, error) {
	cfg = cfg.withDefaults()
	win := cfg.Window.Milliseconds()
	period := cfg.TrendingPeriod.Milliseconds()
	var (
		st      Stats
		seen    = make(map[string]struct{})
		items   = make(map[winKey]*agg)
		cats    = make(map[winKey]*agg)
		buckets = make(map[winKey]map[string]*tally) // key: period start, scope
		users   = make(map[string][]hit)
		dec     event.Decoder
		e       event.Event
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), event.MaxPayload+1)
	for sc.Scan() {
		st.Lines++
		if err := dec.Decode(sc.Bytes(), &e); err != nil {
			st.Dead++
			continue
		}
		st.Parsed++
		clean.Event(&e)
		if _, dup := seen[e.EventID]; dup {
			st.Duplicates++
			continue
		}
		seen[e.EventID] = struct{}{}

		w := floor(e.EventTime, win)
		add(items, winKey{w, e.ItemID}, &e)
		add(cats, winKey{w, e.Category}, &e)
		b := floor(e.EventTime, period)
		for _, scope := range [2]string{trending.GlobalScope, e.Category} {
			k := winKey{b, scope}
			m := buckets[k]
			if m == nil {
				m = make(map[string]*tally)
				buckets[k] = m
			}
			t := m[e.ItemID]
			if t == nil {
				t = &tally{}
				m[e.ItemID] = t
			}
			t.events++
			if e.Action == event.View {
				t.views++
			}
		}
		users[e.UserID] = append(users[e.UserID], hit{e.EventTime, e.ItemID, e.Action})
	}
	if err := sc.Err(); err != nil {
		return Tables{}, fmt.Errorf("loop: read line %d: %w", st.Lines+1, err)
	}

	t := Tables{Stats: st}
	for _, k := range sortedKeys(items) {
		a := items[k]
		t.ItemMetrics = append(t.ItemMetrics, monitor.ItemMetrics{PaneColumns: final(k.start, k.start+win), ItemID: k.key, Category: a.category, ActivityColumns: a.columns()})
	}
	for _, k := range sortedKeys(cats) {
		t.CategoryMetrics = append(t.CategoryMetrics, monitor.CategoryMetrics{PaneColumns: final(k.start, k.start+win), Category: k.key, ActivityColumns: cats[k].columns()})
	}
	t.Trending = rank(buckets, cfg.TrendingSize.Milliseconds(), period, cfg.K)
	t.UserSessions = split(users, cfg.SessionGap.Milliseconds())
	return t, nil
}

func add(m map[winKey]*agg, k winKey, e *event.Event) {
	a := m[k]
	if a == nil {
		a = &agg{}
		m[k] = a
	}
	a.add(e)
}

// floor rounds t down to a multiple of d, also for negative t.
func floor(t, d int64) int64 { return t - ((t%d)+d)%d }

func final(start, end int64) monitor.PaneColumns {
	return monitor.PaneColumns{WindowStart: pane.FormatMillis(start), WindowEnd: pane.FormatMillis(end), PaneTiming: pane.OnTime, IsFinal: true}
}

func sortedKeys[V any](m map[winKey]V) []winKey {
	keys := make([]winKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b winKey) int {
		return cmp.Or(cmp.Compare(a.start, b.start), strings.Compare(a.key, b.key))
	})
	return keys
}

// rank sums the period buckets of each sliding window and scope and keeps
// the top k items, by events (every action weighs 1), ties by item_id.
func rank(buckets map[winKey]map[string]*tally, size, period int64, k int) []trending.Row {
	windows := make(map[winKey]map[string]tally)
	for bk, m := range buckets {
		// The windows [s, s+size) that contain the bucket [b, b+period).
		for s := bk.start - size + period; s <= bk.start; s += period {
			wk := winKey{s, bk.key}
			sum := windows[wk]
			if sum == nil {
				sum = make(map[string]tally, len(m))
				windows[wk] = sum
			}
			for item, t := range m {
				x := sum[item]
				x.events += t.events
				x.views += t.views
				sum[item] = x
			}
		}
	}
	type entry struct {
		item string
		tally
	}
	var rows []trending.Row
	for _, wk := range sortedKeys(windows) {
		es := make([]entry, 0, len(windows[wk]))
		for item, t := range windows[wk] {
			es = append(es, entry{item, t})
		}
		slices.SortFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(b.events, a.events), strings.Compare(a.item, b.item))
		})
		p := final(wk.start, wk.start+size)
		for i, x := range es[:min(k, len(es))] {
			rows = append(rows, trending.Row{
				WindowStart: p.WindowStart, WindowEnd: p.WindowEnd, Scope: wk.key, Rank: int64(i + 1),
				ItemID: x.item, Score: float64(x.events), Events: x.events, Views: x.views,
				PaneTiming: p.PaneTiming, PaneIndex: p.PaneIndex, IsFinal: p.IsFinal,
			})
		}
	}
	return rows
}

// split cuts each user's events, in time order, into sessions at gaps of
// at least gap milliseconds.
func split(users map[string][]hit, gap int64) []sessions.Row {
	ids := make([]string, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	var rows []sessions.Row
	distinct := make(map[string]struct{})
	for _, u := range ids {
		hits := users[u]
		slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.time, b.time) })
		start := 0
		for i := 1; i <= len(hits); i++ {
			if i < len(hits) && hits[i].time-hits[i-1].time < gap {
				continue
			}
			s := hits[start:i]
			r := sessions.Row{
				UserID: u, SessionStart: pane.FormatMillis(s[0].time), SessionEnd: pane.FormatMillis(s[len(s)-1].time),
				Events: int64(len(s)), WindowStart: pane.FormatMillis(s[0].time), WindowEnd: pane.FormatMillis(s[len(s)-1].time + gap),
				PaneTiming: pane.OnTime, IsFinal: true,
			}
			clear(distinct)
			for _, h := range s {
				switch h.action {
				case event.View:
					r.Views++
				case event.Cart:
					r.Carts++
				case event.Purchase:
					r.Purchases++
				}
				distinct[h.item] = struct{}{}
			}
			r.Items = int64(len(distinct))
			r.Converted = r.Purchases > 0
			rows = append(rows, r)
			start = i
		}
	}
	return rows
}
