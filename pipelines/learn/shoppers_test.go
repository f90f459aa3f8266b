package learn_test

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/models/metric"
	"github.com/pulse-analytics/pulse/pipelines/learn"
	"github.com/pulse-analytics/pulse/transforms/shoppers"
	"github.com/pulse-analytics/pulse/transforms/spec"
)

const shoppersFile = "/work/shared/data/online_shoppers_intention.csv"

// On real sessions, the default logistic model's progressive log loss
// (from the predictions table) beats the constant predictor that knows
// the overall purchase rate in hindsight.
func TestShoppersBeatsBaseRate(t *testing.T) {
	f, err := os.Open(shoppersFile)
	if err != nil {
		t.Skipf("real data absent: %v", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := shoppers.Convert(f, &buf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var conv []spec.Model
	for _, m := range learn.DefaultModels() {
		if m.Name == "conversion" {
			conv = append(conv, m)
		}
	}
	if len(conv) != 1 {
		t.Fatal("default_models.json has no conversion model")
	}
	dir := run(t, learn.Config{Models: conv, Batch: time.Hour}, lines)
	preds := readRows[learn.Prediction](t, dir, learn.TablePredictions)
	if len(preds) != n {
		t.Fatalf("%d predictions for %d sessions", len(preds), n)
	}
	var loss, pos float64
	for _, p := range preds {
		loss += metric.Loss(*p.Label, p.Prediction)
		pos += *p.Label
	}
	loss /= float64(n)
	rate := pos / float64(n)
	base := -(rate*math.Log(rate) + (1-rate)*math.Log(1-rate))
	a := auc(preds)
	t.Logf("shoppers: %d sessions, purchase rate %.4f, progressive log loss %.4f vs base-rate %.4f, AUC %.4f", n, rate, loss, base, a)
	if !(loss < base) {
		t.Errorf("progressive log loss %.4f does not beat the base rate's %.4f", loss, base)
	}
}
