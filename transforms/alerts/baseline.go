package alerts

import (
	"math"

	"github.com/pulse-analytics/pulse/transforms/event"
)

// stat is an exponentially weighted mean and variance of one metric over
// the windows of one key (Finch 2009, "Incremental calculation of weighted
// mean and variance", §9): the newest window weighs Alpha, the one before
// Alpha(1-Alpha), and so on, the first the rest.
type stat struct {
	// N counts the windows folded in.
	N    int64
	Mean float64
	Var  float64
}

// add folds x in with weight alpha. The first value is the mean, with no
// variance.
func (s *stat) add(x, alpha float64) {
	if s.N == 0 {
		*s = stat{N: 1, Mean: x}
		return
	}
	d := x - s.Mean
	s.Mean += alpha * d
	s.Var = (1 - alpha) * (s.Var + alpha*d*d)
	s.N++
}

// sd is the baseline's standard deviation, at least floor: the sampling
// noise of one window, which the variance of a perfectly steady series
// would miss.
func (s *stat) sd(floor float64) float64 {
	return math.Max(math.Sqrt(s.Var), floor)
}

// series is the state of one key: the baseline of its event rate and of
// each action's share, and where in time it stands.
type series struct {
	// LastEnd is the end of the last window scored, Unix ms.
	LastEnd int64
	// Size is the window length, ms.
	Size int64
	// Quiet counts the windows scored as empty since the last window the
	// key had, when Config.Silence scores them.
	Quiet  int64
	Events stat
	// Shares is indexed by event.Action; Shares[0] is unused.
	Shares []stat
}

// finding is a metric of one window that crossed the threshold.
type finding struct {
	End      int64
	Metric   string
	Value    float64
	Baseline float64
	Z        float64
}

// severity returns the severity of a z-score under threshold z: Critical
// from 2z, Warning from z, else "".
func severity(zscore, z float64) string {
	switch a := math.Abs(zscore); {
	case a >= 2*z:
		return Critical
	case a >= z:
		return Warning
	}
	return ""
}

// score checks the window ending at end, with per-action counts (counts[0]
// all events), against the baseline of the windows before it, then folds
// it into the baseline.
func (s *series) score(c *Config, end int64, counts []int64) []finding {
	var out []finding
	check := func(st *stat, metric string, x, floor float64, eligible bool) {
		sd := st.sd(floor)
		warm := st.N >= c.Warmup
		if warm && eligible {
			if z := (x - st.Mean) / sd; severity(z, c.Z) != "" {
				out = append(out, finding{End: end, Metric: metric, Value: x, Baseline: st.Mean, Z: z})
			}
		}
		if warm {
			// A value beyond Z deviations teaches the baseline as if it
			// were at Z: one spike then does not blind the detector for
			// dozens of windows, yet a lasting shift is learnt within a
			// few, as the variance grows by half each such window.
			x = min(max(x, st.Mean-c.Z*sd), st.Mean+c.Z*sd)
		}
		st.add(x, c.Alpha)
	}

	minVol := float64(c.MinVolume)
	volume := s.Events.Mean >= minVol // of the baseline, before this window
	n := float64(counts[0])
	// Poisson noise; a mean below 1 still has a floor, so z stays finite.
	check(&s.Events, MetricEvents, n, math.Sqrt(max(s.Events.Mean, 1)), volume)

	// The share of a thin window is noise: it neither fires nor teaches.
	if counts[0] >= c.MinVolume {
		if len(s.Shares) != event.NumActions {
			s.Shares = make([]stat, event.NumActions)
		}
		for a := 1; a < event.NumActions; a++ {
			st := &s.Shares[a]
			// Binomial noise around the baseline share, smoothed by a
			// pseudo-event each way so that a share that was exactly 0
			// does not fire on a single event.
			p := (st.Mean*n + 1) / (n + 2)
			check(st, MetricSharePrefix+event.Action(a).String(), float64(counts[a])/n, math.Sqrt(p*(1-p)/n), volume)
		}
	}
	s.LastEnd = end
	return out
}

// forgetWeight is the weight below which an old baseline no longer matters.
const forgetWeight = 1e-6

// advance scores the window [end-size, end) with counts, after scoring as
// empty every window the key skipped since the last one it scored. A gap
// longer than the baseline's memory (where the old windows weigh less than
// forgetWeight) scores only its first empty window, where a drop shows,
// then starts the key afresh. Windows are expected in order and after
// LastEnd; the caller drops the others.
func (s *series) advance(c *Config, end, size int64, counts []int64) []finding {
	var out []finding
	if s.Events.N > 0 && size == s.Size && size > 0 && (end-s.LastEnd)%size == 0 {
		gap := (end-s.LastEnd)/size - 1
		memory := int64(math.Ceil(math.Log(forgetWeight) / math.Log1p(-c.Alpha)))
		if c.Alpha == 1 {
			memory = 1
		}
		zero := make([]int64, len(counts))
		for i := int64(0); i < gap && (i == 0 || gap <= memory); i++ {
			out = append(out, s.score(c, s.LastEnd+size, zero)...)
		}
		if gap > memory {
			*s = series{}
		}
	}
	s.Size = size
	s.Quiet = 0
	return append(out, s.score(c, end, counts)...)
}

// silent reports whether the window after LastEnd, if the key has nothing
// in it, is to be scored as empty (see Config.Silence).
func (s *series) silent(c *Config) bool {
	return c.Silence > 0 && s.Events.N > 0 && s.Size > 0 &&
		s.Quiet < c.Silence && s.Events.Mean >= float64(c.MinVolume)
}

// hush scores the window after LastEnd as empty.
func (s *series) hush(c *Config) []finding {
	s.Quiet++
	return s.score(c, s.LastEnd+s.Size, make([]int64, event.NumActions))
}
