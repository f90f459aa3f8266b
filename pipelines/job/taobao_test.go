package job_test

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/taobao"
	"github.com/pulse-analytics/pulse/transforms/trending"
)

const taobaoCSV = "../../../shared/data/taobao_userbehavior_10k.csv"

// TestTaobaoReplay replays the real Taobao sample through the whole
// monitor job and checks every item_metrics row and every trending list
// against a computation made here from the CSV itself.
func TestTaobaoReplay(t *testing.T) {
	raw, err := os.ReadFile(taobaoCSV)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent: the real-data replay needs ../shared/data beside the repository", taobaoCSV)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var events bytes.Buffer
	if _, err := taobao.Convert(bytes.NewReader(raw), &events); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "taobao.jsonl")
	if err := os.WriteFile(in, events.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	counters := run(t, job.Config{Pipeline: job.Monitor, Input: in, Output: out})
	if counters["events_dead_lettered"] != 0 {
		t.Errorf("%d real events dead-lettered", counters["events_dead_lettered"])
	}

	type rec struct {
		item, cat, behavior string
		sec                 int64
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	for _, r := range rows {
		sec, err := strconv.ParseInt(r[4], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec{item: r[1], cat: r[2], behavior: r[3], sec: sec})
	}

	// item_metrics: events and views per item per minute.
	type count struct{ events, views int64 }
	wantItems := map[string]count{}
	for _, r := range recs {
		k := minute(r.sec) + " " + r.item
		c := wantItems[k]
		c.events++
		if r.behavior == "pv" {
			c.views++
		}
		wantItems[k] = c
	}
	gotItems := map[string]count{}
	for _, r := range readRows[monitor.ItemMetrics](t, filepath.Join(out, monitor.TableItemMetrics)) {
		gotItems[r.WindowStart+" "+r.ItemID] = count{r.Events, r.Views}
	}
	if len(gotItems) != len(wantItems) {
		t.Errorf("%d item_metrics rows, want %d", len(gotItems), len(wantItems))
	}
	for k, w := range wantItems {
		if gotItems[k] != w {
			t.Errorf("item_metrics %s = %+v, want %+v", k, gotItems[k], w)
		}
	}

	// trending: for each 5-minute window starting on a minute, the top 10
	// items by events, globally and per category, ties by item id.
	type scored struct {
		item   string
		events int64
	}
	tally := map[string]map[string]int64{} // "start scope" -> item -> events
	for _, r := range recs {
		first := time.Unix(r.sec, 0).UTC().Truncate(time.Minute)
		for i := range 5 {
			start := first.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)
			for _, scope := range []string{trending.GlobalScope, r.cat} {
				k := start + " " + scope
				if tally[k] == nil {
					tally[k] = map[string]int64{}
				}
				tally[k][r.item]++
			}
		}
	}
	want := map[string][]scored{}
	for k, items := range tally {
		var list []scored
		for item, n := range items {
			list = append(list, scored{item, n})
		}
		slices.SortFunc(list, func(a, b scored) int {
			if c := cmp.Compare(b.events, a.events); c != 0 {
				return c
			}
			return cmp.Compare(a.item, b.item)
		})
		want[k] = list[:min(10, len(list))]
	}
	got := map[string][]scored{}
	for _, r := range readRows[trending.Row](t, filepath.Join(out, monitor.TableTrending)) {
		k := r.WindowStart + " " + r.Scope
		for int64(len(got[k])) < r.Rank {
			got[k] = append(got[k], scored{})
		}
		got[k][r.Rank-1] = scored{r.ItemID, r.Events}
		if r.PaneTiming != "ON_TIME" || !r.IsFinal || r.PaneIndex != 0 {
			t.Errorf("trending %s rank %d: pane %s/%d final=%v, want the one final ON_TIME pane of a replay", k, r.Rank, r.PaneTiming, r.PaneIndex, r.IsFinal)
		}
		if r.Score != float64(r.Events) {
			t.Errorf("trending %s rank %d: score %v, want its %d events", k, r.Rank, r.Score, r.Events)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d trending lists, want %d", len(got), len(want))
	}
	for k, w := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(w) {
			t.Errorf("trending %s = %v, want %v", k, got[k], w)
		}
	}
}

func minute(sec int64) string {
	return time.Unix(sec, 0).UTC().Truncate(time.Minute).Format(time.RFC3339)
}
