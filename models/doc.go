// Package models holds the online learners that Pulse's pipelines keep in
// state, and the types they share: Vector, a dense or sparse feature vector
// that callers reuse across events, and Learner, the interface every learner
// implements.
//
// The learners live in subpackages, each usable on its own and importing
// nothing outside the standard library:
//
//	linreg   linear regression: SGD (constant or 1/√t), AdaGrad, normalized updates, L2
//	logreg   logistic regression: FTRL-Proximal, AdaGrad, SGD
//	rls      recursive least squares with a forgetting factor
//	ols      exact least squares from mergeable sufficient statistics
//	feature  hashed sparse features, interactions, a reusable Builder
//	scale    Welford mean and variance, online standard scaling (Chan merge)
//	metric   progressive-validation metrics
//	drift    Page-Hinkley and ADWIN drift detectors
//
// A pipeline step does, per event:
//
//	x := builder.Vector()          // fill a reused Vector
//	p := learner.PredictLearn(x, y) // predict, score, then learn
//
// and keeps learner.MarshalBinary() in state. PredictLearn returns the same
// prediction as Predict followed by Learn, and records that prediction in
// Metrics (River's progressive_val_score order). A learner restored with
// UnmarshalBinary continues bit for bit as if it had never stopped.
//
// Merge folds in a learner of the same kind and hyper-parameters trained on
// other data; each kind documents its rule (exact sums for OLS, RLS and
// Welford statistics; weighted averages for the gradient learners).
//
// Learners are not safe for concurrent use.
package models
