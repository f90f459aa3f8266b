package learn

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func init() {
	for _, t := range []any{Prediction{}, Metrics{}, Snapshot{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}

// Prediction stages.
const (
	// StageProgressive is a prediction made just before the model learned
	// from the example (progressive validation); Label is set.
	StageProgressive = "progressive"
	// StageServing is an engagement model's score of a view on arrival,
	// before its outcome is known; Label is null.
	StageServing = "serving"
)

// Prediction is one row of the predictions table: a model's prediction
// for one event.
type Prediction struct {
	EventID   string `json:"event_id" bigquery:"event_id"`
	EventTime string `json:"event_time" bigquery:"event_time"` // RFC 3339
	Model     string `json:"model" bigquery:"model"`
	Variant   string `json:"variant" bigquery:"variant"`
	Key       string `json:"key" bigquery:"key"`
	// Stage is StageProgressive or StageServing.
	Stage string `json:"stage" bigquery:"stage"`
	// Version is the number of examples the model had learned.
	Version    int64    `json:"version" bigquery:"version"`
	Prediction float64  `json:"prediction" bigquery:"prediction"`
	Label      *float64 `json:"label" bigquery:"label"`
}

// Metrics is one row of the model_metrics table: one model and key after
// one batch window. The metric columns are progressive over the model's
// whole life; those of the other task are null.
type Metrics struct {
	WindowStart string `json:"window_start" bigquery:"window_start"`
	WindowEnd   string `json:"window_end" bigquery:"window_end"`
	Model       string `json:"model" bigquery:"model"`
	Variant     string `json:"variant" bigquery:"variant"`
	Key         string `json:"key" bigquery:"key"`
	// Examples is the model's total; BatchExamples those of this window.
	Examples      int64 `json:"examples" bigquery:"examples"`
	BatchExamples int64 `json:"batch_examples" bigquery:"batch_examples"`
	// BatchLoss is the window's mean per-example loss: log loss for
	// logistic models, absolute error for regressions.
	BatchLoss float64  `json:"batch_loss" bigquery:"batch_loss"`
	LogLoss   *float64 `json:"log_loss,omitempty" bigquery:"log_loss"`
	Accuracy  *float64 `json:"accuracy,omitempty" bigquery:"accuracy"`
	AUC       *float64 `json:"auc,omitempty" bigquery:"auc"`
	MAE       *float64 `json:"mae,omitempty" bigquery:"mae"`
	RMSE      *float64 `json:"rmse,omitempty" bigquery:"rmse"`
	R2        *float64 `json:"r2,omitempty" bigquery:"r2"`
	// Drift is set when Page-Hinkley detected a rise of the loss in this
	// window.
	Drift bool `json:"drift" bigquery:"drift"`
}

// Snapshot is one row of the model_snapshots table.
type Snapshot struct {
	SnapshotTime string `json:"snapshot_time" bigquery:"snapshot_time"` // end of the batch window, RFC 3339
	Model        string `json:"model" bigquery:"model"`
	Variant      string `json:"variant" bigquery:"variant"`
	Key          string `json:"key" bigquery:"key"`
	Version      int64  `json:"version" bigquery:"version"`
	Examples     int64  `json:"examples" bigquery:"examples"`
	// Encoding names State's format: EncodingPLSM.
	Encoding string `json:"encoding" bigquery:"encoding"`
	// State is the learner's snapshot (models.Unmarshal), base64.
	State string `json:"state" bigquery:"state"`
	// Weights is a JSON array of the largest weights by magnitude,
	// [{"feature": name or "#index", "index": i, "weight": w}].
	Weights string `json:"weights" bigquery:"weights"`
}

// EncodingPLSM is the Snapshot encoding: the models package's PLSM
// snapshot, base64 (standard, padded).
const EncodingPLSM = "plsm+base64"
