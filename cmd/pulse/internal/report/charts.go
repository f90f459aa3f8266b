package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart is one rendered chart of the page.
type Chart struct {
	// ID names the chart in the page (the img element's id, "chart-" + ID).
	ID    string
	Title string
	// Caption says what the chart shows and how it was computed.
	Caption string
	// PNG is the chart, or nil when there were no rows to draw; Empty
	// then says why.
	PNG   []byte
	Empty string
}

// Chart size: wide enough for a time axis of a few hours.
const (
	chartWidth  = 9 * vg.Inch
	chartHeight = 4 * vg.Inch
)

// palette is Tableau's ten colours: distinct on screen and in print.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255},
}

// driftColour marks drift points: pure red, which no line of the palette
// uses.
var driftColour = color.RGBA{255, 0, 0, 255}

func colour(i int) color.Color { return palette[i%len(palette)] }

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// timeAxis makes p's X axis show UTC clock times (values are Unix seconds).
func timeAxis(p *plot.Plot, from, to time.Time) {
	format := "15:04"
	if to.Sub(from) > 24*time.Hour {
		format = "01-02 15:04"
	}
	p.X.Tick.Marker = timeTicks{format: format}
	p.X.Label.Text = "event time (UTC, " + from.Format("2006-01-02") + ")"
}

// timeTicks puts major ticks on round clock times (every 1, 2, 5, 10, 15,
// 30 minutes, 1, 2, 3, 6, 12 hours or days), at most about eight of them,
// with unlabelled minor ticks between.
type timeTicks struct{ format string }

var tickSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	span := time.Duration((max - min) * float64(time.Second))
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 8 {
			step = s
			break
		}
	}
	for span/step > 8 { // longer than the largest step: whole days
		step *= 2
	}
	minor := step / 5
	if step == 15*time.Minute || step == 3*time.Hour {
		minor = step / 3
	}
	var ticks []plot.Tick
	sec := minor.Seconds()
	for v := math.Ceil(min/sec) * sec; v <= max; v += sec {
		t := plot.Tick{Value: v}
		if math.Mod(v, step.Seconds()) == 0 {
			t.Label = time.Unix(int64(v), 0).UTC().Format(tt.format)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// legendRoom widens p's X range on the right by frac of the data's span, so
// that a legend on the right does not cover the lines.
func legendRoom(p *plot.Plot, from, to time.Time, frac float64) {
	p.X.Min, p.X.Max = unix(from), unix(to)+frac*to.Sub(from).Seconds()
}

func unix(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

func renderPNG(p *plot.Plot) ([]byte, error) {
	w, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return nil, fmt.Errorf("render %q: %w", p.Title.Text, err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("render %q: %w", p.Title.Text, err)
	}
	return b.Bytes(), nil
}

func line(xys plotter.XYs, c color.Color, width vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.LineStyle.Color, l.LineStyle.Width = c, width
	return l, nil
}

// eventsChart draws events per minute of each action, on a log scale: views
// outnumber payments by orders of magnitude.
func eventsChart(counts []ActionCount) (Chart, error) {
	c := Chart{ID: "events", Title: "Events per minute by action",
		Caption: "Sum over categories of the final pane of each 1-minute window (category_metrics), log scale."}
	byAction := map[string]plotter.XYs{}
	var from, to time.Time
	for _, a := range counts {
		if a.Events <= 0 { // a log scale has no zero
			continue
		}
		byAction[a.Action] = append(byAction[a.Action], plotter.XY{X: unix(a.WindowStart), Y: float64(a.Events)})
		if from.IsZero() || a.WindowStart.Before(from) {
			from = a.WindowStart
		}
		if a.WindowStart.After(to) {
			to = a.WindowStart
		}
	}
	if len(byAction) == 0 {
		c.Empty = "no final metrics rows"
		return c, nil
	}
	p := newPlot(c.Title, "", "events per minute")
	timeAxis(p, from, to)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, false
	for i, action := range Actions {
		xys := byAction[action]
		if len(xys) == 0 {
			continue
		}
		sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		l, err := line(xys, colour(i), vg.Points(1.2))
		if err != nil {
			return c, fmt.Errorf("events chart: %w", err)
		}
		p.Add(l)
		p.Legend.Add(action, l)
	}
	legendRoom(p, from, to, 0.22)
	var err error
	c.PNG, err = renderPNG(p)
	return c, err
}

// maxTrendingItems is how many items the trending chart follows.
const maxTrendingItems = 8

// trendingChart follows the items that ranked highest most often through
// the global trending lists: rank 1 at the top, a break where an item fell
// out of the list.
func trendingChart(ranks []TrendingRank) (Chart, error) {
	c := Chart{ID: "trending", Title: "Trending items over time (global top list)"}
	if len(ranks) == 0 {
		c.Empty = "no final global trending rows"
		return c, nil
	}
	// An item's weight is the sum over lists of (K + 1 - rank): often and
	// high in the list.
	var k int64
	windows := map[time.Time]bool{}
	for _, r := range ranks {
		k = max(k, r.Rank)
		windows[r.WindowEnd] = true
	}
	weight := map[string]int64{}
	for _, r := range ranks {
		weight[r.ItemID] += k + 1 - r.Rank
	}
	items := make([]string, 0, len(weight))
	for id := range weight {
		items = append(items, id)
	}
	sort.Slice(items, func(i, j int) bool {
		if weight[items[i]] != weight[items[j]] {
			return weight[items[i]] > weight[items[j]]
		}
		return items[i] < items[j]
	})
	items = items[:min(len(items), maxTrendingItems)]
	ends := make([]time.Time, 0, len(windows))
	for t := range windows {
		ends = append(ends, t)
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	c.Caption = fmt.Sprintf("Rank of the %d items that ranked highest most often in the %d final global top-%d lists (trending), by window end; a gap is a list the item was not in.",
		len(items), len(ends), k)

	rankOf := map[string]map[time.Time]int64{}
	for _, r := range ranks {
		if rankOf[r.ItemID] == nil {
			rankOf[r.ItemID] = map[time.Time]int64{}
		}
		rankOf[r.ItemID][r.WindowEnd] = r.Rank
	}
	p := newPlot(c.Title, "", "rank")
	timeAxis(p, ends[0], ends[len(ends)-1])
	p.X.Label.Text = "window end (UTC, " + ends[0].Format("2006-01-02") + ")"
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	p.Y.Min, p.Y.Max = 0.5, float64(k)+0.5
	var ticks plot.ConstantTicks
	for r := int64(1); r <= k; r++ {
		ticks = append(ticks, plot.Tick{Value: float64(r), Label: fmt.Sprint(r)})
	}
	p.Y.Tick.Marker = ticks
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YPosition = draw.PosCenter
	legendRoom(p, ends[0], ends[len(ends)-1], 0.12)
	for i, id := range items {
		col := colour(i)
		var seg plotter.XYs
		var first plot.Thumbnailer
		flush := func() error {
			if len(seg) == 0 {
				return nil
			}
			l, err := line(seg, col, vg.Points(1.5))
			if err != nil {
				return err
			}
			s, err := plotter.NewScatter(seg)
			if err != nil {
				return err
			}
			s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = col, vg.Points(2), draw.CircleGlyph{}
			p.Add(l, s)
			if first == nil {
				first = l
			}
			seg = nil
			return nil
		}
		for _, t := range ends {
			r, ok := rankOf[id][t]
			if !ok {
				if err := flush(); err != nil {
					return c, fmt.Errorf("trending chart: %w", err)
				}
				continue
			}
			seg = append(seg, plotter.XY{X: unix(t), Y: float64(r)})
		}
		if err := flush(); err != nil {
			return c, fmt.Errorf("trending chart: %w", err)
		}
		p.Legend.Add(id, first)
	}
	var err error
	c.PNG, err = renderPNG(p)
	return c, err
}

// sessionBuckets are the session-length classes, in events: [lo, hi].
var sessionBuckets = []struct {
	lo, hi int64
	name   string
}{
	{1, 1, "1"}, {2, 2, "2"}, {3, 4, "3-4"}, {5, 8, "5-8"}, {9, 16, "9-16"}, {17, 32, "17-32"}, {33, 64, "33-64"}, {65, math.MaxInt64, "65+"},
}

// SessionSummary is one session-length class of the sessions chart.
type SessionSummary struct {
	Name                string
	Sessions, Converted int64
}

// summariseSessions groups session lengths into sessionBuckets.
func summariseSessions(lengths []SessionLength) (rows []SessionSummary, total, converted int64) {
	rows = make([]SessionSummary, len(sessionBuckets))
	for i, b := range sessionBuckets {
		rows[i].Name = b.name
	}
	for _, l := range lengths {
		for i, b := range sessionBuckets {
			if l.Events >= b.lo && l.Events <= b.hi {
				rows[i].Sessions += l.Sessions
				rows[i].Converted += l.Converted
				break
			}
		}
		total += l.Sessions
		converted += l.Converted
	}
	return rows, total, converted
}

// sessionsChart draws the number of sessions per length class, converted
// sessions stacked on the others.
func sessionsChart(lengths []SessionLength) (Chart, []SessionSummary, error) {
	c := Chart{ID: "sessions", Title: "Session length and conversion"}
	rows, total, converted := summariseSessions(lengths)
	if total == 0 {
		c.Empty = "no final user_sessions rows"
		return c, nil, nil
	}
	c.Caption = fmt.Sprintf("%d sessions (final panes of user_sessions), %.1f%% converted (a purchase or payment), by number of events.",
		total, 100*float64(converted)/float64(total))
	var not, conv plotter.Values
	var names []string
	for _, r := range rows {
		not = append(not, float64(r.Sessions-r.Converted))
		conv = append(conv, float64(r.Converted))
		names = append(names, r.Name)
	}
	p := newPlot(c.Title, "events in the session", "sessions")
	width := vg.Points(40)
	b1, err := plotter.NewBarChart(not, width)
	if err != nil {
		return c, nil, fmt.Errorf("sessions chart: %w", err)
	}
	b1.Color, b1.LineStyle.Width = colour(0), 0
	b2, err := plotter.NewBarChart(conv, width)
	if err != nil {
		return c, nil, fmt.Errorf("sessions chart: %w", err)
	}
	b2.Color, b2.LineStyle.Width = colour(1), 0
	b2.StackOn(b1)
	p.Add(b1, b2)
	p.Legend.Add("not converted", b1)
	p.Legend.Add("converted", b2)
	p.Legend.Top, p.Legend.Left = true, false
	p.NominalX(names...)
	var most float64
	for i := range not {
		most = max(most, not[i]+conv[i])
	}
	p.Y.Max = 1.15 * most // room for the legend
	c.PNG, err = renderPNG(p)
	return c, rows, err
}

// Champion names a model's best variant: the pipelines keep no champion, so
// the report elects, per model, the variant whose latest progressive loss
// (weighted by examples over the model's keys) is lowest; ties go to the
// first name. A model with one variant has that one as its champion.
func Champions(points []ModelPoint) map[string]string {
	type last struct {
		at   time.Time
		loss float64
		n    int64
	}
	latest := map[[3]string]last{}
	for _, p := range points {
		k := [3]string{p.Model, p.Variant, p.Key}
		if l, ok := latest[k]; !ok || p.WindowEnd.After(l.at) {
			latest[k] = last{p.WindowEnd, p.Loss, p.Examples}
		}
	}
	type acc struct{ sum, n float64 }
	byVariant := map[[2]string]*acc{}
	for k, l := range latest {
		v := [2]string{k[0], k[1]}
		a := byVariant[v]
		if a == nil {
			a = &acc{}
			byVariant[v] = a
		}
		w := float64(max(l.n, 1))
		a.sum += w * l.loss
		a.n += w
	}
	keys := make([][2]string, 0, len(byVariant))
	for k := range byVariant {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	champ := map[string]string{}
	best := map[string]float64{}
	for _, k := range keys {
		mean := byVariant[k].sum / byVariant[k].n
		if b, ok := best[k[0]]; !ok || mean < b {
			best[k[0]], champ[k[0]] = mean, k[1]
		}
	}
	return champ
}

// maxModelLines is how many (variant, key) lines a model chart draws.
const maxModelLines = 6

// modelSeries is one (variant, key) line of a model chart.
type modelSeries struct {
	variant, key string
	points       []ModelPoint
}

// modelCharts draws, per model, the progressive loss of its largest
// (variant, key) series over event time, drift points as red triangles and
// the champion variant's lines thick.
func modelCharts(points []ModelPoint) ([]Chart, error) {
	if len(points) == 0 {
		return []Chart{{ID: "model", Title: "Model progressive loss", Empty: "no model_metrics rows"}}, nil
	}
	champ := Champions(points)
	byModel := map[string]map[[2]string]*modelSeries{}
	for _, p := range points {
		if byModel[p.Model] == nil {
			byModel[p.Model] = map[[2]string]*modelSeries{}
		}
		k := [2]string{p.Variant, p.Key}
		s := byModel[p.Model][k]
		if s == nil {
			s = &modelSeries{variant: p.Variant, key: p.Key}
			byModel[p.Model][k] = s
		}
		s.points = append(s.points, p)
	}
	models := make([]string, 0, len(byModel))
	for m := range byModel {
		models = append(models, m)
	}
	sort.Strings(models)
	var charts []Chart
	for _, m := range models {
		c, err := modelChart(m, champ[m], byModel[m])
		if err != nil {
			return nil, err
		}
		charts = append(charts, c)
	}
	return charts, nil
}

func modelChart(model, champion string, series map[[2]string]*modelSeries) (Chart, error) {
	all := make([]*modelSeries, 0, len(series))
	variants, keys := map[string]bool{}, map[string]bool{}
	for _, s := range series {
		sort.Slice(s.points, func(i, j int) bool { return s.points[i].WindowEnd.Before(s.points[j].WindowEnd) })
		all = append(all, s)
		variants[s.variant], keys[s.key] = true, true
	}
	lastN := func(s *modelSeries) int64 { return s.points[len(s.points)-1].Examples }
	sort.Slice(all, func(i, j int) bool {
		if lastN(all[i]) != lastN(all[j]) {
			return lastN(all[i]) > lastN(all[j])
		}
		return all[i].variant+"/"+all[i].key < all[j].variant+"/"+all[j].key
	})
	shown := all[:min(len(all), maxModelLines)]
	metric := shown[0].points[0].Metric
	c := Chart{ID: "model-" + slug(model), Title: fmt.Sprintf("Model %s: progressive %s", model, metric)}
	champName := champion
	if champName == "" {
		champName = "(default)"
	}
	c.Caption = fmt.Sprintf("Progressive %s over the model's life at the end of each batch window (model_metrics); red triangles: drift detected (Page-Hinkley); thick lines: the champion variant %s (lowest latest loss).",
		metric, champName)
	if len(shown) < len(all) {
		c.Caption += fmt.Sprintf(" %d of %d (variant, key) series shown, those with the most examples.", len(shown), len(all))
	}
	label := func(s *modelSeries) string {
		name := s.variant
		if name == "" {
			name = "default"
		}
		switch {
		case len(variants) > 1 && len(keys) > 1:
			name += "/" + s.key
		case len(keys) > 1:
			name = s.key
		}
		if s.variant == champion && len(variants) > 1 {
			name += " (champion)"
		}
		return name
	}
	p := newPlot(c.Title, "", metric)
	from, to := shown[0].points[0].WindowEnd, shown[0].points[0].WindowEnd
	var drifts plotter.XYs
	for i, s := range shown {
		xys := make(plotter.XYs, len(s.points))
		for j, pt := range s.points {
			xys[j] = plotter.XY{X: unix(pt.WindowEnd), Y: pt.Loss}
			if pt.Drift {
				drifts = append(drifts, xys[j])
			}
			if pt.WindowEnd.Before(from) {
				from = pt.WindowEnd
			}
			if pt.WindowEnd.After(to) {
				to = pt.WindowEnd
			}
		}
		width := vg.Points(1.2)
		if s.variant == champion {
			width = vg.Points(3)
		}
		l, err := line(xys, colour(i), width)
		if err != nil {
			return c, fmt.Errorf("model %s chart: %w", model, err)
		}
		p.Add(l)
		p.Legend.Add(label(s), l)
	}
	if len(drifts) > 0 {
		s, err := plotter.NewScatter(drifts)
		if err != nil {
			return c, fmt.Errorf("model %s chart: %w", model, err)
		}
		s.GlyphStyle.Color, s.GlyphStyle.Radius = driftColour, vg.Points(5)
		s.GlyphStyle.Shape = draw.PyramidGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("drift (%d)", len(drifts)), s)
	}
	timeAxis(p, from, to)
	p.X.Label.Text = "window end (UTC, " + from.Format("2006-01-02") + ")"
	p.Legend.Top, p.Legend.Left = true, false
	legendRoom(p, from, to, 0.25)
	var err error
	c.PNG, err = renderPNG(p)
	return c, err
}

// deadReason reduces an error text to its class: quoted values, offsets and
// explanations differ from row to row and would split one cause into many.
var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	number   = regexp.MustCompile(`(^|\s)-?[0-9][0-9.eE+-]*`)
	trailing = regexp.MustCompile(`(, at .*|: want .*|: event_time .*)$`)
)

func deadReason(err string) string {
	r := trailing.ReplaceAllString(err, "")
	r = quoted.ReplaceAllString(r, "…")
	r = number.ReplaceAllString(r, "$1…")
	if r = strings.TrimSpace(r); r == "" {
		return "(no reason)"
	}
	return r
}

// DeadReason is one class of dead letters.
type DeadReason struct {
	Reason string
	Count  int64
}

// maxDeadReasons is how many reasons the dead-letter chart shows; the rest
// are summed as "other".
const maxDeadReasons = 15

func summariseDead(dead []DeadLetterCount) []DeadReason {
	counts := map[string]int64{}
	for _, d := range dead {
		counts[deadReason(d.Error)] += d.Count
	}
	out := make([]DeadReason, 0, len(counts))
	for r, n := range counts {
		out = append(out, DeadReason{r, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	if len(out) > maxDeadReasons {
		other := DeadReason{Reason: "other"}
		for _, d := range out[maxDeadReasons-1:] {
			other.Count += d.Count
		}
		out = append(out[:maxDeadReasons-1], other)
	}
	return out
}

// deadChart draws dead letters per reason class, as horizontal bars.
func deadChart(dead []DeadLetterCount) (Chart, []DeadReason, error) {
	c := Chart{ID: "dead-letters", Title: "Dead letters by reason"}
	reasons := summariseDead(dead)
	if len(reasons) == 0 {
		c.Empty = "no dead_letter rows"
		return c, nil, nil
	}
	var total int64
	var vals plotter.Values
	var names []string
	// Bottom to top: the largest reason on top.
	for i := len(reasons) - 1; i >= 0; i-- {
		vals = append(vals, float64(reasons[i].Count))
		names = append(names, reasons[i].Reason)
		total += reasons[i].Count
	}
	c.Caption = fmt.Sprintf("%d dead letters (dead_letter), by error with quoted values and offsets removed.", total)
	p := newPlot(c.Title, "dead letters", "")
	b, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return c, nil, fmt.Errorf("dead-letter chart: %w", err)
	}
	b.Horizontal = true
	p.X.Tick.Marker = integerTicks{}
	b.Color, b.LineStyle.Width = colour(3), 0
	p.Add(b)
	p.NominalY(names...)
	c.PNG, err = renderPNG(p)
	return c, reasons, err
}

// integerTicks labels counts without decimals.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.0f", ticks[i].Value)
		}
	}
	return ticks
}

// slug makes a name safe for an HTML id.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
