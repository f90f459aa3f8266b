// Package shoppers converts the UCI "Online Shoppers Purchasing Intention"
// data set (online_shoppers_intention.csv: a header, then one browsing
// session a row, 12,330 rows) into Pulse events, so that the learn
// pipeline can be checked on real labelled data.
//
// Each session becomes one event: action purchase when Revenue is TRUE,
// else view, with label 1 or 0. user_id is "s<row>", item_id "store",
// event_id "shoppers-<row>" (rows numbered from 1 after the header). The
// ten numeric columns (Administrative … SpecialDay) go into features under
// their names (an empty cell is a missing feature); the coded columns become one-hot features
// ("Month=Feb", "Browser=2", "TrafficType=3", "Weekend=TRUE"), VisitorType
// the category, Region the region ("r<n>") and OperatingSystems the device
// ("os<n>"). The data has no timestamps: a session of month M is placed
// at 2017-M-01T00:00Z plus Spacing times its rank among that month's
// sessions, so event time follows the month and then the file's order.
// Revenue is never copied into a feature. The package has no Beam
// dependency.
package shoppers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// Spacing is the event-time gap between consecutive sessions of a month.
const Spacing = 10 * time.Second

var numeric = []string{
	"Administrative", "Administrative_Duration", "Informational", "Informational_Duration",
	"ProductRelated", "ProductRelated_Duration", "BounceRates", "ExitRates", "PageValues", "SpecialDay",
}

var oneHot = []string{"Month", "Browser", "TrafficType", "Weekend"}

var months = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March, "Apr": time.April, "May": time.May,
	"June": time.June, "Jun": time.June, "Jul": time.July, "Aug": time.August, "Sep": time.September,
	"Oct": time.October, "Nov": time.November, "Dec": time.December,
}

// Convert reads the CSV from r and writes one contract JSON line per
// session to w. It returns the number of events written and stops at the
// first malformed row, naming it.
func Convert(r io.Reader, w io.Writer) (int, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("shoppers: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	required := append(append([]string{"VisitorType", "Region", "OperatingSystems", "Revenue"}, numeric...), oneHot...)
	for _, c := range required {
		if _, ok := col[c]; !ok {
			return 0, fmt.Errorf("shoppers: header lacks column %q", c)
		}
	}
	rank := map[time.Month]int64{}
	var buf []byte
	n := 0
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("shoppers: row %d: %w", row, err)
		}
		e := event.Event{
			EventID:  "shoppers-" + strconv.Itoa(row),
			UserID:   "s" + strconv.Itoa(row),
			ItemID:   "store",
			Category: rec[col["VisitorType"]],
			Region:   "r" + rec[col["Region"]],
			Device:   "os" + rec[col["OperatingSystems"]],
			Features: make(map[string]float64, len(numeric)+len(oneHot)),
			HasLabel: true,
		}
		switch rec[col["Revenue"]] {
		case "TRUE":
			e.Action, e.Label = event.Purchase, 1
		case "FALSE":
			e.Action, e.Label = event.View, 0
		default:
			return n, fmt.Errorf("shoppers: row %d: Revenue %q is not TRUE or FALSE", row, rec[col["Revenue"]])
		}
		m, ok := months[rec[col["Month"]]]
		if !ok {
			return n, fmt.Errorf("shoppers: row %d: Month %q", row, rec[col["Month"]])
		}
		e.EventTime = time.Date(2017, m, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rank[m]) * Spacing).UnixMilli()
		rank[m]++
		for _, c := range numeric {
			if rec[col[c]] == "" {
				continue // 14 sessions of the published file lack these
			}
			v, err := strconv.ParseFloat(rec[col[c]], 64)
			if err != nil {
				return n, fmt.Errorf("shoppers: row %d: %s: %w", row, c, err)
			}
			e.Features[c] = v
		}
		for _, c := range oneHot {
			e.Features[c+"="+rec[col[c]]] = 1
		}
		buf = e.AppendJSON(buf[:0])
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return n, fmt.Errorf("shoppers: %w", err)
		}
		n++
	}
}
