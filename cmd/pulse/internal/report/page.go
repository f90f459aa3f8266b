package report

import (
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"time"
)

// Page is everything the report shows.
type Page struct {
	Source    string
	Generated time.Time
	Charts    []Chart
	// Sessions and DeadReasons are the numbers behind their charts, shown
	// as tables under them.
	Sessions    []SessionSummary
	DeadReasons []DeadReason
	// Champions maps each model to its champion variant.
	Champions map[string]string
}

// Build asks src for the rows and draws every chart. A table without rows
// gives a chart with Empty set, not an error: a monitor-only run has no
// model_metrics.
func Build(ctx context.Context, src Source, now time.Time) (*Page, error) {
	pg := &Page{Source: src.Name(), Generated: now.UTC()}
	counts, err := src.ActionCounts(ctx)
	if err != nil {
		return nil, err
	}
	events, err := eventsChart(counts)
	if err != nil {
		return nil, err
	}
	ranks, err := src.TrendingRanks(ctx)
	if err != nil {
		return nil, err
	}
	trend, err := trendingChart(ranks)
	if err != nil {
		return nil, err
	}
	lengths, err := src.SessionLengths(ctx)
	if err != nil {
		return nil, err
	}
	sessions, summary, err := sessionsChart(lengths)
	if err != nil {
		return nil, err
	}
	points, err := src.ModelLoss(ctx)
	if err != nil {
		return nil, err
	}
	models, err := modelCharts(points)
	if err != nil {
		return nil, err
	}
	dead, err := src.DeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	deadC, reasons, err := deadChart(dead)
	if err != nil {
		return nil, err
	}
	pg.Charts = append([]Chart{events, trend, sessions}, models...)
	pg.Charts = append(pg.Charts, deadC)
	pg.Sessions, pg.DeadReasons, pg.Champions = summary, reasons, Champions(points)
	return pg, nil
}

// Write renders the page as one self-contained HTML document: the charts
// are PNG data URIs, the style is inline, nothing is fetched.
func (pg *Page) Write(w io.Writer) error {
	if err := pageTemplate.Execute(w, pg); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	// pngSrc is the src attribute whole: as a URL, html/template would
	// write every + of the base64 as &#43;. Base64 has no quote to escape.
	"pngSrc": func(b []byte) template.HTMLAttr {
		return template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(b) + `"`)
	},
	"pct": func(n, of int64) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pulse report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 920px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; }
img { max-width: 100%; border: 1px solid #ddd; }
p.caption { color: #555; font-size: 0.9em; }
p.empty { color: #a00; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
</style>
</head>
<body>
<h1>Pulse report</h1>
<p>Tables from <code>{{.Source}}</code>, rendered {{.Generated.Format "2006-01-02 15:04:05 UTC"}}.</p>
{{if .Champions}}<p>Champions (lowest latest progressive loss per model):
{{range $m, $v := .Champions}} <b>{{$m}}</b>: {{if $v}}{{$v}}{{else}}default{{end}};{{end}}</p>{{end}}
{{range .Charts}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{if .PNG}}<img id="chart-{{.ID}}" alt="{{.Title}}" {{pngSrc .PNG}}>
<p class="caption">{{.Caption}}</p>{{else}}<p class="empty">No chart: {{.Empty}}.</p>{{end}}
{{if and (eq .ID "sessions") $.Sessions}}
<table><tr><th>events</th><th>sessions</th><th>converted</th><th>conversion</th></tr>
{{range $.Sessions}}<tr><td>{{.Name}}</td><td>{{.Sessions}}</td><td>{{.Converted}}</td><td>{{pct .Converted .Sessions}}</td></tr>
{{end}}</table>{{end}}
{{if and (eq .ID "dead-letters") $.DeadReasons}}
<table><tr><th>reason</th><th>dead letters</th></tr>
{{range $.DeadReasons}}<tr><td>{{.Reason}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{end}}
</section>
{{end}}
</body>
</html>
`))
