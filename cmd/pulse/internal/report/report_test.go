package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/jsonl"
	"github.com/pulse-analytics/pulse/transforms/learn"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// imgTag finds the charts of a page: id and PNG data URI.
var imgTag = regexp.MustCompile(`<img id="chart-([a-z0-9_-]+)" alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">`)

// pageCharts returns the decoded PNG of every chart of an HTML page.
func pageCharts(t *testing.T, html []byte) map[string]image.Image {
	t.Helper()
	charts := map[string]image.Image{}
	for _, m := range imgTag.FindAllSubmatch(html, -1) {
		b, err := base64.StdEncoding.DecodeString(string(m[2]))
		if err != nil {
			t.Fatalf("chart %s: %v", m[1], err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("chart %s: %v", m[1], err)
		}
		charts[string(m[1])] = img
	}
	return charts
}

// colouredPixels counts the pixels of img that are clearly coloured: the
// data. Axes, grid, and text are grey or black, the background white.
func colouredPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > 0x4000 {
				n++
			}
		}
	}
	return n
}

// pixelsOf counts the pixels of exactly colour c (opaque).
func pixelsOf(img image.Image, r0, g0, b0 uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == r0 && uint8(g>>8) == g0 && uint8(bl>>8) == b0 {
				n++
			}
		}
	}
	return n
}

// TestReportFromAJobRun runs the whole job (monitor and learn) on prism over
// a generated stream with duplicates, late and malformed events, renders
// the report of its output directory, and checks that the page holds every
// chart, each a PNG with data drawn on it.
func TestReportFromAJobRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 11, Users: 10000, Items: 300, Rate: 10, Duplicates: 0.02, Late: 0.02, Malformed: 0.03}, 6000)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	p, s := beam.NewPipelineWithRoot()
	if err := job.Build(s, job.Config{Pipeline: job.All, Input: in, Output: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := beamx.RunWithMetrics(t.Context(), p); err != nil {
		t.Fatalf("run: %v", err)
	}

	pg, err := Build(t.Context(), DirSource{Dir: out}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := pg.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(html, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	// Self-contained: nothing is fetched from elsewhere.
	if bytes.Contains(page, []byte("http://")) || bytes.Contains(page, []byte("https://")) {
		t.Errorf("the page refers to another resource")
	}

	// Every model that wrote metrics has its chart.
	metrics, err := jsonl.Read[learn.Metrics](filepath.Join(out, tableModelMetrics))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"events", "trending", "sessions", "dead-letters"}
	models := map[string]bool{}
	for _, m := range metrics {
		if !models[m.Model] {
			models[m.Model] = true
			want = append(want, "model-"+slug(m.Model))
		}
	}
	if len(models) == 0 {
		t.Fatal("the job wrote no model_metrics: the test would check less than it claims")
	}
	// The threshold below separates data from frame: a plot with a title,
	// axes and a grid but no data has (next to) no coloured pixel.
	blank, err := renderPNG(newPlot("blank", "x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(blank)); err != nil || colouredPixels(img) >= 300 {
		t.Fatalf("a plot without data: err %v or too many coloured pixels", err)
	}
	charts := pageCharts(t, page)
	for _, id := range want {
		img, ok := charts[id]
		if !ok {
			t.Errorf("the page has no chart %q (it has %d charts)", id, len(charts))
			continue
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
			t.Errorf("chart %s is %v: too small", id, b)
		}
		n := colouredPixels(img)
		if n < 300 {
			t.Errorf("chart %s has %d coloured pixels: no data drawn", id, n)
		}
		t.Logf("chart %s: %v, %d coloured pixels", id, img.Bounds().Size(), n)
	}
	if len(charts) != len(want) {
		t.Errorf("the page has %d charts, want %d (%v)", len(charts), len(want), want)
	}
	if strings.Contains(string(page), "No chart:") {
		t.Errorf("a table of a full run was reported empty")
	}
}

// TestEmptyDirectorySaysSo renders a directory without tables: the page
// says which charts have no rows instead of failing or drawing blanks.
func TestEmptyDirectorySaysSo(t *testing.T) {
	pg, err := Build(context.Background(), DirSource{Dir: t.TempDir()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pg.Write(&b); err != nil {
		t.Fatal(err)
	}
	if n := len(pageCharts(t, b.Bytes())); n != 0 {
		t.Errorf("%d charts drawn from no rows", n)
	}
	for _, s := range []string{"no final metrics rows", "no final global trending rows", "no final user_sessions rows", "no model_metrics rows", "no dead_letter rows"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the page does not say %q", s)
		}
	}
}
