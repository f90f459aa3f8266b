package alerts

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// The incremental mean and variance equal the weighted mean and variance
// computed from the definition: weight α(1-α)^k for the window k steps
// back, and (1-α)^(n-1) for the first.
func TestStatMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, alpha := range []float64{0.05, 0.1, 0.5, 1} {
		for _, n := range []int{1, 2, 3, 10, 100} {
			xs := make([]float64, n)
			var s stat
			for i := range xs {
				xs[i] = 50 + 20*r.NormFloat64()
				s.add(xs[i], alpha)
			}
			w := make([]float64, n)
			for i := range w {
				if i == 0 {
					w[i] = math.Pow(1-alpha, float64(n-1))
				} else {
					w[i] = alpha * math.Pow(1-alpha, float64(n-1-i))
				}
			}
			var mean, v float64
			for i, x := range xs {
				mean += w[i] * x
			}
			for i, x := range xs {
				v += w[i] * (x - mean) * (x - mean)
			}
			if s.N != int64(n) || !near(s.Mean, mean) || !near(s.Var, v) {
				t.Errorf("alpha %v, %d values: got n=%d mean=%v var=%v, want mean=%v var=%v", alpha, n, s.N, s.Mean, s.Var, mean, v)
			}
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

// counts builds per-action counts: all events, then the given actions.
func counts(by map[event.Action]int64) []int64 {
	c := make([]int64, event.NumActions)
	for a, n := range by {
		c[a] += n
		c[0] += n
	}
	return c
}

const minute = 60_000

// warm returns a series that has seen n windows of c, one a minute.
func warm(cfg *Config, n int, c []int64) *series {
	s := &series{}
	for i := 1; i <= n; i++ {
		s.advance(cfg, int64(i)*minute, minute, c)
	}
	return s
}

// describe renders findings as "metric severity sign" for comparison.
func describe(fs []finding, z float64) []string {
	var out []string
	for _, f := range fs {
		sign := "+"
		if f.Z < 0 {
			sign = "-"
		}
		out = append(out, fmt.Sprintf("%s %s %s", f.Metric, severity(f.Z, z), sign))
	}
	slices.Sort(out)
	return out
}

func TestScore(t *testing.T) {
	views := func(n int64) []int64 { return counts(map[event.Action]int64{event.View: n}) }
	mix := func(v, s int64) []int64 { return counts(map[event.Action]int64{event.View: v, event.Share: s}) }
	for _, tc := range []struct {
		name   string
		warmup int           // windows of base before the scored one
		base   []int64       // counts of the warm-up windows
		window []int64       // counts of the scored window
		want   []string      // "metric severity sign", sorted
		cfg    func(*Config) // changes to Defaults
	}{
		{name: "steady", warmup: 20, base: views(100), window: views(104)},
		// √100 = 10 is the noise of a steady 100: +50 is 5σ, +100 is 10σ.
		{name: "warning band", warmup: 20, base: views(100), window: views(150), want: []string{"events warning +"}},
		{name: "surge", warmup: 20, base: views(100), window: views(200), want: []string{"events critical +"}},
		{name: "drop to zero", warmup: 20, base: views(100), window: views(0), want: []string{"events critical -"}},
		{name: "within warmup", warmup: 9, base: views(100), window: views(200)},
		{name: "just warm", warmup: 10, base: views(100), window: views(200), want: []string{"events critical +"}},
		{name: "below min volume", warmup: 20, base: views(10), window: views(100)},
		{name: "lower min volume", warmup: 20, base: views(10), window: views(100), want: []string{"events critical +"},
			cfg: func(c *Config) { c.MinVolume = 5 }},
		{name: "higher threshold", warmup: 20, base: views(100), window: views(150), cfg: func(c *Config) { c.Z = 6 }},
		{name: "share surge", warmup: 20, base: mix(196, 4), window: mix(140, 60),
			want: []string{"share:share critical +", "share:view critical -"}},
		{name: "share noise", warmup: 20, base: mix(196, 4), window: mix(193, 7)},
		// A first like among 200 views is one event, not an anomaly.
		{name: "new action", warmup: 20, base: views(200), window: counts(map[event.Action]int64{event.View: 199, event.Like: 1})},
		// 15 events all shares: the drop fires, the thin window's shares do not.
		{name: "thin window", warmup: 20, base: mix(196, 4), window: mix(0, 15), want: []string{"events critical -"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := warm(&cfg, tc.warmup, tc.base)
			got := describe(s.advance(&cfg, int64(tc.warmup+1)*minute, minute, tc.window), cfg.Z)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// One spike is learnt as if it were at Z deviations: the next normal
// window does not fire, and a later spike of the same size fires again.
func TestSpikeDoesNotBlindTheBaseline(t *testing.T) {
	cfg := Defaults()
	base := counts(map[event.Action]int64{event.View: 100})
	spike := counts(map[event.Action]int64{event.View: 400})
	s := warm(&cfg, 20, base)
	end := int64(20) * minute
	next := func(c []int64) []string { end += minute; return describe(s.advance(&cfg, end, minute, c), cfg.Z) }
	if got := next(spike); !slices.Equal(got, []string{"events critical +"}) {
		t.Fatalf("spike: got %q", got)
	}
	for i := range 5 {
		if got := next(base); got != nil {
			t.Fatalf("normal window %d after the spike: got %q", i, got)
		}
	}
	if got := next(spike); !slices.Equal(got, []string{"events critical +"}) {
		t.Errorf("second spike 5 windows later: got %q, want it to fire", got)
	}
}

func TestAdvanceScoresGapsAsEmpty(t *testing.T) {
	cfg := Defaults()
	base := counts(map[event.Action]int64{event.View: 100})

	s := warm(&cfg, 20, base)
	fs := s.advance(&cfg, 24*minute, minute, base)
	if len(fs) == 0 || fs[0].End != 21*minute || fs[0].Metric != MetricEvents || fs[0].Value != 0 || fs[0].Z >= 0 {
		t.Fatalf("gap of 3 windows: findings %+v, want the first to be a drop to 0 at minute 21", fs)
	}
	for _, f := range fs {
		if f.End >= 24*minute || f.Value != 0 {
			t.Errorf("finding %+v is not an empty window of the gap", f)
		}
	}
	if s.Events.N != 24 || s.LastEnd != 24*minute {
		t.Errorf("after the gap: %d windows, last end %d; want 24 and %d", s.Events.N, s.LastEnd, 24*minute)
	}

	// A gap longer than the baseline's memory reports its first empty
	// window, then starts afresh.
	s = warm(&cfg, 20, base)
	fs = s.advance(&cfg, 2000*minute, minute, base)
	if len(fs) != 1 || fs[0].End != 21*minute || fs[0].Value != 0 {
		t.Errorf("long gap: findings %+v, want one drop at minute 21", fs)
	}
	if s.Events.N != 1 || s.LastEnd != 2000*minute {
		t.Errorf("long gap: %d windows, last end %d; want a fresh baseline", s.Events.N, s.LastEnd)
	}

	// Windows of another size or alignment cannot be counted: no filling.
	s = warm(&cfg, 20, base)
	if fs := s.advance(&cfg, 20*minute+5*120_000, 120_000, base); fs != nil || s.Events.N != 21 {
		t.Errorf("new window size: findings %+v, %d windows; want none and 21", fs, s.Events.N)
	}
}

func TestSeriesSilence(t *testing.T) {
	base := counts(map[event.Action]int64{event.View: 100})
	cfg := Defaults()
	if s := warm(&cfg, 20, base); s.silent(&cfg) {
		t.Errorf("silent with Silence 0")
	}
	cfg.Silence = 2
	s := warm(&cfg, 20, base)
	var got []int64
	for s.silent(&cfg) {
		fs := s.hush(&cfg)
		if len(fs) > 0 && fs[0].Value == 0 && fs[0].Z < 0 {
			got = append(got, fs[0].End/minute)
		}
	}
	if s.Quiet != 2 || s.LastEnd != 22*minute || len(got) == 0 || got[0] != 21 {
		t.Errorf("silence 2: quiet %d, last end minute %d, drops at minutes %v; want 2, 22, first at 21",
			s.Quiet, s.LastEnd/minute, got)
	}
	// A key back from silence may fall silent again.
	s.advance(&cfg, 23*minute, minute, base)
	if !s.silent(&cfg) {
		t.Errorf("not silent-capable after the key came back")
	}
	// A baseline under MinVolume has no drop worth scoring.
	if s := warm(&cfg, 20, counts(map[event.Action]int64{event.View: 5})); s.silent(&cfg) {
		t.Errorf("silent below MinVolume")
	}
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		z    float64
		want string
	}{
		{0, ""}, {3.99, ""}, {-3.99, ""}, {4, Warning}, {-4, Warning}, {7.99, Warning}, {8, Critical}, {-100, Critical},
	} {
		if got := severity(tc.z, 4); got != tc.want {
			t.Errorf("severity(%v, 4) = %q, want %q", tc.z, got, tc.want)
		}
	}
}

func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		p    typex.PaneInfo
		want bool
	}{
		{typex.PaneInfo{Timing: typex.PaneEarly, IsFirst: true}, false},
		{typex.PaneInfo{Timing: typex.PaneOnTime, IsFirst: true, IsLast: true}, true},
		{typex.PaneInfo{Timing: typex.PaneOnTime, Index: 2}, true},
		{typex.PaneInfo{Timing: typex.PaneLate, Index: 3, IsLast: true}, false},
		{typex.NoFiringPane(), true},
	} {
		if got := keep(tc.p); got != tc.want {
			t.Errorf("keep(%+v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Alpha: 1, Z: 0.5, MinVolume: 1, Warmup: 1, Silence: 3}, true},
		{Config{Alpha: 1.5}, false},
		{Config{Alpha: -0.1}, false},
		{Config{Alpha: math.NaN()}, false},
		{Config{Z: -1}, false},
		{Config{MinVolume: -1}, false},
		{Config{Warmup: -1}, false},
		{Config{Silence: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
}
