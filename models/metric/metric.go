// Package metric computes progressive-validation metrics: each example is
// scored by the model's prediction made before the model learns it (River's
// progressive_val_score order), so the metric estimates generalisation
// without a held-out set.
//
// LogLoss, Accuracy, MAE, RMSE and R2 keep sums and merge exactly (up to
// floating-point rounding) across shards and keys. AUC covers a bounded
// window of recent examples and does not merge: a merged Set keeps the
// receiver's window.
package metric

import (
	"math"
	"slices"
)

// LogLoss is the mean binary cross-entropy (natural log) of probabilities,
// clamped to [1e-15, 1-1e-15]. Mergeable.
type LogLoss struct {
	Sum float64
	N   int64
}

// Loss returns the log loss of probability p for label y in {0, 1} (y is
// taken as 1 when y >= 0.5).
func Loss(y, p float64) float64 {
	const eps = 1e-15
	p = min(max(p, eps), 1-eps)
	if y >= 0.5 {
		return -math.Log(p)
	}
	// Log(1-p) rather than Log1p(-p): the absolute error is below 1e-16
	// and Log is several times faster on amd64, which matters on the
	// per-event path.
	return -math.Log(1 - p)
}

// Update adds one example.
func (m *LogLoss) Update(y, p float64) { m.Sum += Loss(y, p); m.N++ }

// Value returns the mean loss, or 0 before any example.
func (m *LogLoss) Value() float64 { return mean(m.Sum, m.N) }

// Merge adds o's examples.
func (m *LogLoss) Merge(o *LogLoss) { m.Sum += o.Sum; m.N += o.N }

// Accuracy is the fraction of examples whose predicted class (p >= 0.5)
// equals the label (y >= 0.5). Mergeable.
type Accuracy struct{ Correct, N int64 }

// Update adds one example.
func (m *Accuracy) Update(y, p float64) {
	if (p >= 0.5) == (y >= 0.5) {
		m.Correct++
	}
	m.N++
}

// Value returns the accuracy, or 0 before any example.
func (m *Accuracy) Value() float64 { return mean(float64(m.Correct), m.N) }

// Merge adds o's examples.
func (m *Accuracy) Merge(o *Accuracy) { m.Correct += o.Correct; m.N += o.N }

// MAE is the mean absolute error. Mergeable.
type MAE struct {
	Sum float64
	N   int64
}

// Update adds one example.
func (m *MAE) Update(y, p float64) { m.Sum += math.Abs(y - p); m.N++ }

// Value returns the mean absolute error, or 0 before any example.
func (m *MAE) Value() float64 { return mean(m.Sum, m.N) }

// Merge adds o's examples.
func (m *MAE) Merge(o *MAE) { m.Sum += o.Sum; m.N += o.N }

// RMSE is the root mean squared error. Mergeable.
type RMSE struct {
	Sum float64 // sum of squared errors
	N   int64
}

// Update adds one example.
func (m *RMSE) Update(y, p float64) { m.Sum += (y - p) * (y - p); m.N++ }

// Value returns the root mean squared error, or 0 before any example.
func (m *RMSE) Value() float64 { return math.Sqrt(mean(m.Sum, m.N)) }

// Merge adds o's examples.
func (m *RMSE) Merge(o *RMSE) { m.Sum += o.Sum; m.N += o.N }

// R2 is the coefficient of determination 1 - SSE/SST, where SST is kept
// with Welford's algorithm. Mergeable (Chan et al.'s pairwise formula).
type R2 struct {
	N    int64
	Mean float64 // mean of y
	M2   float64 // sum of squared deviations of y from Mean
	SSE  float64 // sum of squared errors
}

// Update adds one example.
func (m *R2) Update(y, p float64) {
	m.N++
	d := y - m.Mean
	m.Mean += d / float64(m.N)
	m.M2 += d * (y - m.Mean)
	m.SSE += (y - p) * (y - p)
}

// Value returns R², or 0 while the labels have no variance.
func (m *R2) Value() float64 {
	if m.M2 == 0 {
		return 0
	}
	return 1 - m.SSE/m.M2
}

// Merge adds o's examples.
func (m *R2) Merge(o *R2) {
	if o.N == 0 {
		return
	}
	n := m.N + o.N
	d := o.Mean - m.Mean
	m.M2 += o.M2 + d*d*float64(m.N)*float64(o.N)/float64(n)
	m.Mean += d * float64(o.N) / float64(n)
	m.N = n
	m.SSE += o.SSE
}

func mean(sum float64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// AUC is the area under the ROC curve over the most recent Window
// examples (a ring buffer), computed with the Mann-Whitney rank statistic
// with ties averaged. Update is O(1) and allocation-free; Value sorts the
// window, O(W log W). Not mergeable.
type AUC struct {
	score []float64
	label []bool
	next  int // ring position of the next write
	full  bool
	pairs []scored // scratch for Value
}

type scored struct {
	s   float64
	pos bool
}

// NewAUC returns an AUC over the last window examples (window > 0).
func NewAUC(window int) *AUC {
	return &AUC{score: make([]float64, window), label: make([]bool, window)}
}

// Window returns the window size.
func (m *AUC) Window() int { return len(m.score) }

// Len returns how many examples the window holds.
func (m *AUC) Len() int {
	if m.full {
		return len(m.score)
	}
	return m.next
}

// Update adds one example, evicting the oldest once the window is full.
func (m *AUC) Update(y, p float64) {
	if len(m.score) == 0 {
		return
	}
	m.score[m.next] = p
	m.label[m.next] = y >= 0.5
	m.next++
	if m.next == len(m.score) {
		m.next, m.full = 0, true
	}
}

// Value returns the AUC of the window, or 0.5 while it lacks a positive or
// a negative example.
func (m *AUC) Value() float64 {
	n := m.Len()
	m.pairs = m.pairs[:0]
	for i := 0; i < n; i++ {
		m.pairs = append(m.pairs, scored{m.score[i], m.label[i]})
	}
	slices.SortFunc(m.pairs, func(a, b scored) int {
		switch {
		case a.s < b.s:
			return -1
		case a.s > b.s:
			return 1
		}
		return 0
	})
	var rankSum float64 // sum of the (1-based, tie-averaged) ranks of positives
	var pos int
	for i := 0; i < n; {
		j := i
		npos := 0
		for j < n && m.pairs[j].s == m.pairs[i].s {
			if m.pairs[j].pos {
				npos++
			}
			j++
		}
		rankSum += float64(npos) * float64(i+1+j) / 2
		pos += npos
		i = j
	}
	neg := n - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}
