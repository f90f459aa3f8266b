// Package drift detects changes in a stream of numbers, such as a model's
// per-example progressive loss (metric.Loss of each prediction): a
// Page-Hinkley test for a rise of the mean, and ADWIN, an adaptive window
// that drops old data when its mean differs significantly from recent
// data. Both take O(1) amortised time and memory per value (ADWIN
// O(log W)), do not allocate after construction, and snapshot to bytes.
// Detector state is ordered in time and does not merge: run one per key.
package drift

import (
	"fmt"
	"math"

	"github.com/pulse-analytics/pulse/models/internal/codec"
)

// PageHinkleyConfig holds Page-Hinkley's parameters (River's defaults in
// brackets).
type PageHinkleyConfig struct {
	MinInstances int64   // values seen before a detection is allowed [30]
	Delta        float64 // tolerated rise of the mean [0.005]
	Threshold    float64 // λ: the cumulative rise that signals drift [50]
	Alpha        float64 // fading factor of the cumulative sum, in (0, 1] [0.9999]
}

// DefaultPageHinkley is River's default configuration.
var DefaultPageHinkley = PageHinkleyConfig{MinInstances: 30, Delta: 0.005, Threshold: 50, Alpha: 1 - 0.0001}

func (c PageHinkleyConfig) validate() error {
	if c.MinInstances < 0 || !(c.Delta >= 0) || !(c.Threshold > 0) || !(c.Alpha > 0 && c.Alpha <= 1) ||
		math.IsInf(c.Delta, 0) || math.IsInf(c.Threshold, 0) {
		return fmt.Errorf("drift: bad Page-Hinkley config %+v", c)
	}
	return nil
}

// PageHinkley detects a rise of the mean: with x̄ₜ the running mean it
// keeps mₜ = α·mₜ₋₁ + (xₜ − x̄ₜ − δ) and signals drift when mₜ − min mₛ > λ,
// then starts afresh.
type PageHinkley struct {
	cfg  PageHinkleyConfig
	n    int64
	mean float64
	sum  float64
	min  float64
}

// NewPageHinkley returns a detector.
func NewPageHinkley(c PageHinkleyConfig) (*PageHinkley, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &PageHinkley{cfg: c}, nil
}

// Update adds x and reports whether drift was detected; the detector then
// resets.
func (p *PageHinkley) Update(x float64) bool {
	p.n++
	p.mean += (x - p.mean) / float64(p.n)
	p.sum = p.cfg.Alpha*p.sum + (x - p.mean - p.cfg.Delta)
	p.min = min(p.min, p.sum)
	if p.n >= p.cfg.MinInstances && p.sum-p.min > p.cfg.Threshold {
		p.n, p.mean, p.sum, p.min = 0, 0, 0, 0
		return true
	}
	return false
}

// MarshalBinary returns a snapshot.
func (p *PageHinkley) MarshalBinary() ([]byte, error) {
	e := codec.NewEncoder(codec.KindPageHinkley, 64)
	e.I64(p.cfg.MinInstances)
	e.F64(p.cfg.Delta)
	e.F64(p.cfg.Threshold)
	e.F64(p.cfg.Alpha)
	e.I64(p.n)
	e.F64(p.mean)
	e.F64(p.sum)
	e.F64(p.min)
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (p *PageHinkley) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindPageHinkley)
	if err != nil {
		return fmt.Errorf("drift: decode Page-Hinkley: %w", err)
	}
	var n PageHinkley
	n.cfg = PageHinkleyConfig{d.Count(), d.F64(), d.F64(), d.F64()}
	n.n, n.mean, n.sum, n.min = d.Count(), d.F64(), d.F64(), d.F64()
	if err := d.Finish(); err != nil {
		return fmt.Errorf("drift: decode Page-Hinkley: %w", err)
	}
	if err := n.cfg.validate(); err != nil {
		return fmt.Errorf("drift: decode Page-Hinkley: %w: %v", codec.ErrCorrupt, err)
	}
	*p = n
	return nil
}

// ADWIN parameters fixed by the algorithm's published defaults (Bifet and
// Gavaldà 2007; River): buckets per level, minimum sub-window length.
const (
	adwinMaxBuckets = 5
	adwinMinLen     = 5
	adwinLevels     = 64
)

// ADWINConfig holds ADWIN's parameters (River's defaults in brackets).
type ADWINConfig struct {
	Delta       float64 // confidence δ of a cut, in (0, 1) [0.002]
	Clock       int     // check for cuts every Clock values [32]
	GracePeriod int     // values seen before the first check [10]
}

// DefaultADWIN is River's default configuration.
var DefaultADWIN = ADWINConfig{Delta: 0.002, Clock: 32, GracePeriod: 10}

func (c ADWINConfig) validate() error {
	if !(c.Delta > 0 && c.Delta < 1) || c.Clock < 1 || c.GracePeriod < 0 || c.Clock > 1<<30 || c.GracePeriod > 1<<30 {
		return fmt.Errorf("drift: bad ADWIN config %+v", c)
	}
	return nil
}

// level holds the buckets of size 2^i, oldest first.
type level struct {
	n        int
	total    [adwinMaxBuckets + 1]float64
	variance [adwinMaxBuckets + 1]float64
}

// ADWIN is ADWIN2 (Bifet and Gavaldà, "Learning from time-changing data
// with adaptive windowing", SDM 2007) as River implements it: the window
// is an exponential histogram of at most 5 buckets per power-of-two size;
// every Clock values it looks for a split into old and recent parts whose
// means differ by more than the Hoeffding-style bound
//
//	ε = √(2·m·σ²·δ′) + ⅔·m·δ′,  δ′ = ln(2·ln(W)/δ),  m = 1/(n₀−4) + 1/(n₁−4)
//
// and, if found, drops old buckets until none is.
type ADWIN struct {
	cfg      ADWINConfig
	levels   [adwinLevels]level
	used     int // levels in use
	width    int64
	total    float64
	variance float64 // sum of squared deviations of the window
	tick     int64
}

// NewADWIN returns a detector.
func NewADWIN(c ADWINConfig) (*ADWIN, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &ADWIN{cfg: c}, nil
}

// Width returns the window length.
func (a *ADWIN) Width() int64 { return a.width }

// Mean returns the window mean.
func (a *ADWIN) Mean() float64 {
	if a.width == 0 {
		return 0
	}
	return a.total / float64(a.width)
}

// Update adds x and reports whether the window was cut (drift).
func (a *ADWIN) Update(x float64) bool {
	a.insert(x)
	a.compress()
	return a.detect()
}

func (a *ADWIN) insert(x float64) {
	l := &a.levels[0]
	l.total[l.n], l.variance[l.n] = x, 0
	l.n++
	if a.used == 0 {
		a.used = 1
	}
	a.width++
	if a.width > 1 {
		m := a.total / float64(a.width-1)
		a.variance += float64(a.width-1) * (x - m) * (x - m) / float64(a.width)
	}
	a.total += x
}

func (a *ADWIN) compress() {
	for i := 0; i < adwinLevels-1; i++ {
		l := &a.levels[i]
		if l.n <= adwinMaxBuckets {
			return
		}
		n := math.Ldexp(1, i)
		d := l.total[0]/n - l.total[1]/n
		next := &a.levels[i+1]
		next.total[next.n] = l.total[0] + l.total[1]
		next.variance[next.n] = l.variance[0] + l.variance[1] + n*n*d*d/(2*n)
		next.n++
		if i+2 > a.used {
			a.used = i + 2
		}
		copy(l.total[:], l.total[2:l.n])
		copy(l.variance[:], l.variance[2:l.n])
		l.n -= 2
	}
}

// dropOldest removes the oldest bucket.
func (a *ADWIN) dropOldest() {
	i := a.used - 1
	l := &a.levels[i]
	n := math.Ldexp(1, i)
	u, v := l.total[0], l.variance[0]
	a.width -= int64(n)
	a.total -= u
	if a.width > 0 {
		d := u/n - a.total/float64(a.width)
		a.variance -= v + n*float64(a.width)*d*d/(n+float64(a.width))
	} else {
		a.total, a.variance = 0, 0
	}
	copy(l.total[:], l.total[1:l.n])
	copy(l.variance[:], l.variance[1:l.n])
	l.n--
	for a.used > 0 && a.levels[a.used-1].n == 0 {
		a.used--
	}
}

func (a *ADWIN) detect() bool {
	a.tick++
	if a.tick%int64(a.cfg.Clock) != 0 || a.width <= int64(a.cfg.GracePeriod) {
		return false
	}
	changed := false
	for cut := true; cut && a.width > 0; {
		cut = false
		n0, n1 := 0.0, float64(a.width)
		u0, u1 := 0.0, a.total
	scan:
		for i := a.used - 1; i >= 0; i-- { // oldest buckets first
			l := &a.levels[i]
			n := math.Ldexp(1, i)
			for k := 0; k < l.n; k++ {
				n0 += n
				n1 -= n
				u0 += l.total[k]
				u1 -= l.total[k]
				if i == 0 && k == l.n-1 {
					break scan // the newest bucket: no recent part left
				}
				if n0 >= adwinMinLen && n1 >= adwinMinLen && a.significant(n0, n1, u0/n0-u1/n1) {
					cut, changed = true, true
					a.dropOldest()
					break scan
				}
			}
		}
	}
	return changed
}

func (a *ADWIN) significant(n0, n1, diff float64) bool {
	dp := math.Log(2 * math.Log(float64(a.width)) / a.cfg.Delta)
	m := 1/(n0-adwinMinLen+1) + 1/(n1-adwinMinLen+1)
	v := a.variance / float64(a.width)
	eps := math.Sqrt(2*m*v*dp) + 2.0/3.0*dp*m
	return math.Abs(diff) > eps
}

// MarshalBinary returns a snapshot.
func (a *ADWIN) MarshalBinary() ([]byte, error) {
	e := codec.NewEncoder(codec.KindADWIN, 64+a.used*100)
	e.F64(a.cfg.Delta)
	e.U32(uint32(a.cfg.Clock))
	e.U32(uint32(a.cfg.GracePeriod))
	e.I64(a.width)
	e.F64(a.total)
	e.F64(a.variance)
	e.I64(a.tick)
	e.U8(uint8(a.used))
	for i := 0; i < a.used; i++ {
		l := &a.levels[i]
		e.U8(uint8(l.n))
		for k := 0; k < l.n; k++ {
			e.F64(l.total[k])
			e.F64(l.variance[k])
		}
	}
	return e.Finish(), nil
}

// UnmarshalBinary restores a snapshot written by MarshalBinary.
func (a *ADWIN) UnmarshalBinary(data []byte) error {
	d, err := codec.Open(data, codec.KindADWIN)
	if err != nil {
		return fmt.Errorf("drift: decode ADWIN: %w", err)
	}
	var n ADWIN
	n.cfg = ADWINConfig{d.F64(), int(d.U32()), int(d.U32())}
	n.width, n.total, n.variance, n.tick = d.Count(), d.F64(), d.F64(), d.Count()
	n.used = int(d.U8())
	if n.used > adwinLevels {
		d.Fail("%d levels", n.used)
	}
	var width int64
	for i := 0; i < n.used && d.Err() == nil; i++ {
		l := &n.levels[i]
		l.n = int(d.U8())
		if l.n > adwinMaxBuckets || l.n == 0 && i == n.used-1 {
			d.Fail("level %d has %d buckets", i, l.n)
			break
		}
		width += int64(l.n) << i
		for k := 0; k < l.n; k++ {
			l.total[k], l.variance[k] = d.F64(), d.F64()
		}
	}
	if err := d.Finish(); err != nil {
		return fmt.Errorf("drift: decode ADWIN: %w", err)
	}
	if err := n.cfg.validate(); err != nil {
		return fmt.Errorf("drift: decode ADWIN: %w: %v", codec.ErrCorrupt, err)
	}
	if width != n.width {
		return fmt.Errorf("drift: decode ADWIN: %w: buckets hold %d values, width %d", codec.ErrCorrupt, width, n.width)
	}
	*a = n
	return nil
}
