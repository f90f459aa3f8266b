package models_test

import (
	"fmt"

	"github.com/pulse-analytics/pulse/models"
	"github.com/pulse-analytics/pulse/models/feature"
	"github.com/pulse-analytics/pulse/models/logreg"
)

// The learn pipeline's loop: hash an event's attributes into a reused
// vector, predict-score-learn, snapshot the learner into state, and merge
// the learners of two shards.
func Example() {
	fb, _ := feature.New(feature.Config{Bits: 18, Interactions: [][2]string{{"user", "item"}}, Bias: true})
	user, item := fb.Group("user"), fb.Group("item")
	newLearner := func() *logreg.FTRL {
		l, _ := logreg.NewFTRL(logreg.FTRLConfig{Dim: fb.Dim(), Alpha: 0.1, Beta: 1, L1: 1e-4})
		return l
	}
	shards := []*logreg.FTRL{newLearner(), newLearner()}
	for i := 0; i < 2000; i++ {
		plan := []string{"free", "pro"}[i%2]
		device := []string{"ios", "android", "web"}[i%3]
		clicked := 0.0
		if plan == "pro" && device != "web" {
			clicked = 1
		}
		fb.Reset()
		fb.Categorical(user, "plan", plan)
		fb.Categorical(item, "device", device)
		shards[(i/10)%2].PredictLearn(fb.Vector(), clicked) // e.g. two Beam keys
	}
	state, _ := shards[0].MarshalBinary() // what Beam state holds
	restored, _ := models.Unmarshal(state)
	if err := restored.Merge(shards[1]); err != nil {
		fmt.Println(err)
	}
	p := func(plan, device string) float64 {
		fb.Reset()
		fb.Categorical(user, "plan", plan)
		fb.Categorical(item, "device", device)
		return restored.Predict(fb.Vector())
	}
	fmt.Printf("examples %d, P(click | pro, ios) = %.2f, P(click | free, ios) = %.2f\n",
		restored.Examples(), p("pro", "ios"), p("free", "ios"))
	// Output: examples 2000, P(click | pro, ios) = 0.88, P(click | free, ios) = 0.07
}
