package shoppers_test

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/shoppers"
)

const sample = `Administrative,Administrative_Duration,Informational,Informational_Duration,ProductRelated,ProductRelated_Duration,BounceRates,ExitRates,PageValues,SpecialDay,Month,OperatingSystems,Browser,Region,TrafficType,VisitorType,Weekend,Revenue
0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE
3,64.5,0,0,19,608,0,0.01,12.5,0,Nov,2,2,3,2,New_Visitor,TRUE,TRUE
0,0,0,0,2,64,0,0.1,0,0,Feb,2,2,1,2,Returning_Visitor,FALSE,FALSE
`

func TestConvert(t *testing.T) {
	var out bytes.Buffer
	n, err := shoppers.Convert(strings.NewReader(sample), &out)
	if err != nil || n != 3 {
		t.Fatalf("Convert = %d, %v", n, err)
	}
	var evs []event.Event
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %q does not meet the contract: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	b := evs[1]
	if b.Action != event.Purchase || b.Label != 1 || !b.HasLabel || b.EventID != "shoppers-2" || b.Category != "New_Visitor" ||
		b.Region != "r3" || b.Device != "os2" || b.Features["ProductRelated_Duration"] != 608 || b.Features["Month=Nov"] != 1 ||
		b.Features["Weekend=TRUE"] != 1 || b.Time().Month() != 11 {
		t.Errorf("row 2 = %+v", b)
	}
	if evs[0].Action != event.View || evs[0].Label != 0 {
		t.Errorf("row 1 = %+v", evs[0])
	}
	// Rows of a month are spaced in file order.
	if d := evs[2].EventTime - evs[0].EventTime; d != shoppers.Spacing.Milliseconds() {
		t.Errorf("Feb rows %d ms apart, want %d", d, shoppers.Spacing.Milliseconds())
	}
	for _, e := range evs {
		for k := range e.Features {
			if strings.Contains(k, "Revenue") {
				t.Errorf("label leaks into feature %q", k)
			}
		}
	}
}

func TestConvertErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a,b\n1,2\n", `lacks column`},
		{strings.Replace(sample, "FALSE,FALSE\n3,64", "FALSE,MAYBE\n3,64", 1), `row 1: Revenue "MAYBE"`},
		{strings.Replace(sample, "Nov", "Nev", 1), `row 2: Month "Nev"`},
	} {
		if _, err := shoppers.Convert(strings.NewReader(tc.in), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Convert error %v, want %q", err, tc.want)
		}
	}
}

// The real file, when present, converts completely.
func TestConvertRealFile(t *testing.T) {
	f, err := os.Open(RealFile)
	if err != nil {
		t.Skipf("real data absent: %v", err)
	}
	defer f.Close()
	n, err := shoppers.Convert(f, &bytes.Buffer{})
	if err != nil || n != 12330 {
		t.Errorf("Convert = %d, %v; want 12330 events", n, err)
	}
}

// RealFile is where the shared data set lives on the team's machines.
const RealFile = "/work/shared/data/online_shoppers_intention.csv"
