package bigquery

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Output
		wantErr bool
	}{
		{in: "bigquery://my-project/pulse", want: Output{Project: "my-project", Dataset: "pulse"}},
		{in: "bigquery://example.com:my-project/pulse_v2", want: Output{Project: "example.com:my-project", Dataset: "pulse_v2"}},
		{in: "bigquery://my-project", wantErr: true},
		{in: "bigquery://my-project/a/b", wantErr: true},
		{in: "bigquery://my-project/x`; DROP TABLE y", wantErr: true},
		{in: "bigquery://My_Project/pulse", wantErr: true},
		{in: "bq://my-project/pulse", wantErr: true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

type inner struct {
	WindowEnd string `bigquery:"window_end"`
}

type row struct {
	inner
	Item   string   `bigquery:"item_id"`
	N      int64    `bigquery:"n"`
	X      *float64 `bigquery:"x"`
	OK     bool     `bigquery:"ok"`
	hidden int
}

func TestMetadataFlattensAndPartitions(t *testing.T) {
	md, err := Metadata(Table{Name: "t", Row: row{}, ClusterBy: []string{"item_id"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  bq.FieldType
	}{{"window_end", bq.TimestampFieldType}, {"item_id", bq.StringFieldType}, {"n", bq.IntegerFieldType},
		{"x", bq.FloatFieldType}, {"ok", bq.BooleanFieldType}}
	if len(md.Schema) != len(want) {
		t.Fatalf("schema has %d columns, want %d", len(md.Schema), len(want))
	}
	for i, w := range want {
		if md.Schema[i].Name != w.name || md.Schema[i].Type != w.typ {
			t.Errorf("column %d = %s %s, want %s %s", i, md.Schema[i].Name, md.Schema[i].Type, w.name, w.typ)
		}
	}
	if md.TimePartitioning == nil || md.TimePartitioning.Field != "window_end" {
		t.Errorf("partitioning = %+v, want by day on window_end", md.TimePartitioning)
	}
	if _, err := Metadata(Table{Name: "t", Row: row{}, ClusterBy: []string{"nope"}}); err == nil {
		t.Error("clustering on a missing column: no error")
	}
}

func TestValues(t *testing.T) {
	x := 2.5
	v, err := values(row{inner: inner{WindowEnd: "2026-01-01T00:01:00Z"}, Item: "i", N: 3, X: &x, OK: true})
	if err != nil {
		t.Fatal(err)
	}
	if v["window_end"] != time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC) || v["item_id"] != "i" || v["n"] != int64(3) || v["x"] != 2.5 || v["ok"] != true {
		t.Errorf("values = %v", v)
	}
	nan := math.NaN()
	v, _ = values(row{X: &nan})
	if v["x"] != nil || v["window_end"] != nil {
		t.Errorf("NaN and empty time: values = %v, want NULLs", v)
	}
	if _, err := values(row{inner: inner{WindowEnd: "yesterday"}}); err == nil {
		t.Error("a bad timestamp: no error")
	}
}

func TestInsertIDIsStable(t *testing.T) {
	a, _, _ := insertID("t", row{Item: "a", N: 1})
	b, _, _ := insertID("t", row{Item: "a", N: 1})
	c, _, _ := insertID("t", row{Item: "a", N: 2})
	d, _, _ := insertID("u", row{Item: "a", N: 1})
	if a != b || a == c || a == d {
		t.Errorf("ids %s %s %s %s: want equal rows equal, others different", a, b, c, d)
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: http.StatusTooManyRequests}, true},
		{&googleapi.Error{Code: http.StatusInternalServerError}, true},
		{&googleapi.Error{Code: http.StatusServiceUnavailable}, true},
		{&googleapi.Error{Code: http.StatusBadRequest}, false},
		{&googleapi.Error{Code: http.StatusNotFound}, false},
		{errors.New("schema mismatch"), false},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
