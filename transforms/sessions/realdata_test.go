package sessions_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/pulse-analytics/pulse/transforms/pane"
	"github.com/pulse-analytics/pulse/transforms/sessions"
	"github.com/pulse-analytics/pulse/transforms/taobao"
)

// taobaoPath is the shared real sample, beside the repository (never in it).
const taobaoPath = "../../../shared/data/taobao_userbehavior_10k.csv"

// TestTaobaoSessions sessionises 10,000 real events of 114 users, converted
// to contract JSON and parsed as the pipelines do, and expects exactly the
// rows computed here from the CSV: each user's events sorted by time and
// split where consecutive events are 30 minutes or more apart.
func TestTaobaoSessions(t *testing.T) {
	raw, err := os.ReadFile(taobaoPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("real data %s absent (it lives beside the repo, never in it)", taobaoPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	want, exact := expectTaobao(t, raw, gap.Milliseconds())
	// The sample has a gap of exactly 30 minutes: the boundary is exercised
	// on real data, not just in the synthetic cases.
	if exact == 0 {
		t.Fatalf("no consecutive events exactly %v apart in the sample; the boundary is untested", gap)
	}
	t.Logf("%d sessions expected, %d split at exactly the gap", len(want), exact)

	var jsonl bytes.Buffer
	if _, err := taobao.Convert(bytes.NewReader(raw), &jsonl); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	rows := sessions.Build(s, 0, nil, events(s, strings.Split(strings.TrimSpace(jsonl.String()), "\n")))
	passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), rows), toAny(want)...)
	ptest.RunAndValidate(t, p)
}

// expectTaobao computes the sessions of the CSV rows independently of the
// pipeline, and counts splits at exactly gapMillis.
func expectTaobao(t *testing.T, raw []byte, gapMillis int64) (rows []sessions.Row, exact int) {
	type rec struct {
		ms           int64
		item, action string
	}
	byUser := map[string][]rec{}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) != 5 {
			t.Fatalf("row %d: %q", i+1, line)
		}
		secs, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		byUser[f[0]] = append(byUser[f[0]], rec{secs * 1000, f[1], f[3]})
	}
	for user, recs := range byUser {
		slices.SortStableFunc(recs, func(a, b rec) int { return int(a.ms - b.ms) })
		var cur []rec
		flush := func() {
			r := sessions.Row{UserID: user, Events: int64(len(cur))}
			items := map[string]bool{}
			for _, x := range cur {
				items[x.item] = true
				switch x.action {
				case "pv":
					r.Views++
				case "cart":
					r.Carts++
				case "buy":
					r.Purchases++
				}
			}
			first, last := cur[0].ms, cur[len(cur)-1].ms
			r.Items, r.Converted = int64(len(items)), r.Purchases > 0
			r.SessionStart, r.SessionEnd = pane.FormatMillis(first), pane.FormatMillis(last)
			r.WindowStart, r.WindowEnd = pane.FormatMillis(first), pane.FormatMillis(last+gapMillis)
			r.PaneTiming, r.IsFinal = pane.OnTime, true
			rows = append(rows, r)
		}
		for _, x := range recs {
			if len(cur) > 0 {
				if d := x.ms - cur[len(cur)-1].ms; d >= gapMillis {
					if d == gapMillis {
						exact++
					}
					flush()
					cur = cur[:0]
				}
			}
			cur = append(cur, x)
		}
		flush()
	}
	return rows, exact
}
