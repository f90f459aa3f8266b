package taobao_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/taobao"
)

func TestConvert(t *testing.T) {
	in := "1,10,100,pv,1511848894\r\n" +
		"\n" +
		"2,20,200,cart,1511848951\n" +
		"2,21,200,fav,0\n" +
		"3,30,300,buy,1512316768" // no final newline
	var out bytes.Buffer
	n, err := taobao.Convert(strings.NewReader(in), &out)
	if err != nil || n != 4 {
		t.Fatalf("Convert = %d, %v; want 4, nil", n, err)
	}
	want := []event.Event{
		{EventID: "1", UserID: "1", ItemID: "10", Category: "100", Action: event.View, EventTime: 1511848894000},
		{EventID: "3", UserID: "2", ItemID: "20", Category: "200", Action: event.Cart, EventTime: 1511848951000},
		{EventID: "4", UserID: "2", ItemID: "21", Category: "200", Action: event.Favorite, EventTime: 0},
		{EventID: "5", UserID: "3", ItemID: "30", Category: "300", Action: event.Purchase, EventTime: 1512316768000},
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		// Decode is the pipeline's own reader: what it accepts is the contract.
		got, err := event.Decode([]byte(l))
		if err != nil {
			t.Errorf("line %d %s: %v", i+1, l, err)
			continue
		}
		if !equal(got, want[i]) {
			t.Errorf("line %d = %+v, want %+v", i+1, got, want[i])
		}
	}
	if !strings.Contains(lines[0], `"event_time":"2017-11-28T06:01:34.000Z"`) {
		t.Errorf("first line %s lacks the RFC 3339 time of 1511848894", lines[0])
	}
}

func equal(a, b event.Event) bool {
	return a.EventID == b.EventID && a.UserID == b.UserID && a.ItemID == b.ItemID &&
		a.Category == b.Category && a.Action == b.Action && a.EventTime == b.EventTime
}

func TestConvertRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		n              int
	}{
		{"unknown behavior", "1,2,3,pv,5\n1,2,3,like,5\n", "line 2: unknown behavior", 1},
		{"too few fields", "1,2,3,pv\n", "line 1: want 5", 0},
		{"too many fields", "1,2,3,pv,5,6\n", "line 1: want 5", 0},
		{"empty field", "1,,3,pv,5\n", "line 1: empty item_id", 0},
		{"time not a number", "\n1,2,3,pv,5s\n", "line 2: unix_seconds", 0},
		{"negative time", "1,2,3,pv,-1\n", "line 1: unix_seconds", 0},
		{"time after 9999", "1,2,3,pv,253402300800\n", "line 1: unix_seconds", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := taobao.Convert(strings.NewReader(tc.in), &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if n != tc.n {
				t.Errorf("n = %d, want %d", n, tc.n)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConvertWriteError(t *testing.T) {
	_, err := taobao.Convert(strings.NewReader("1,2,3,pv,5\n"), failWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

// TestConvertRealData converts the shared 10k-row sample and checks every
// line against the CSV, read here independently.
func TestConvertRealData(t *testing.T) {
	const path = "../../../shared/data/taobao_userbehavior_10k.csv"
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("real data %s absent (it lives beside the repo, never in it)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := taobao.Convert(bytes.NewReader(raw), &out)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if n != len(rows) || n != 10000 {
		t.Fatalf("converted %d events from %d rows, want 10000", n, len(rows))
	}
	actions := map[string]string{"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"}
	sc := bufio.NewScanner(&out)
	i := 0
	for ; sc.Scan(); i++ {
		e, err := event.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
		f := strings.Split(rows[i], ",")
		secs, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		if e.EventID != strconv.Itoa(i+1) || e.UserID != f[0] || e.ItemID != f[1] || e.Category != f[2] ||
			e.Action.String() != actions[f[3]] || !e.Time().Equal(time.Unix(secs, 0)) {
			t.Fatalf("row %d %q became %+v", i+1, rows[i], e)
		}
	}
	if i != n {
		t.Errorf("wrote %d lines, reported %d", i, n)
	}
}
