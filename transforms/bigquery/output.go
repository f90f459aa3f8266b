// Package bigquery writes Pulse's tables to BigQuery from any Beam runner:
// one client per DoFn instance, rows batched per bundle, deterministic
// insert ids, retries with backoff, rejected rows to the dead letter, and
// tables created on demand from the Go row types.
//
// The SDK's bigqueryio sends every row through one key, makes a client per
// bundle, uses random insert ids and takes no endpoint; this sink writes
// from whichever workers hold the rows and can point at an emulator.
package bigquery

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
)

// Scheme prefixes a BigQuery output: bigquery://PROJECT/DATASET.
const Scheme = "bigquery://"

// Output is a dataset to write to.
type Output struct {
	Project string
	Dataset string
	// Endpoint is the base URL of a BigQuery emulator
	// (http://127.0.0.1:9050); empty for Google Cloud with the ambient
	// credentials.
	Endpoint string
}

var (
	// Project ids, optionally domain-scoped (example.com:project).
	projectRE = regexp.MustCompile(`^([a-z0-9.-]+:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	// Dataset and table names: letters, digits, underscores.
	nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// IsURL reports whether s names a BigQuery output.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// Parse parses bigquery://PROJECT/DATASET. The names are checked here, so
// that nothing else needs to quote them in SQL or paths.
func Parse(s string) (Output, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Output{}, fmt.Errorf("%q: want %sPROJECT/DATASET", s, Scheme)
	}
	project, dataset, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(dataset, "/") {
		return Output{}, fmt.Errorf("%q: want %sPROJECT/DATASET", s, Scheme)
	}
	o := Output{Project: project, Dataset: dataset}
	if err := o.Validate(); err != nil {
		return Output{}, fmt.Errorf("%q: %w", s, err)
	}
	return o, nil
}

// Validate checks the project and dataset names.
func (o Output) Validate() error {
	if !projectRE.MatchString(o.Project) {
		return fmt.Errorf("project %q is not a valid project id", o.Project)
	}
	if !nameRE.MatchString(o.Dataset) || len(o.Dataset) > 1024 {
		return fmt.Errorf("dataset %q: want letters, digits and underscores", o.Dataset)
	}
	return nil
}

// String is the output's URL.
func (o Output) String() string { return Scheme + o.Project + "/" + o.Dataset }

// NewClient connects to BigQuery for o.Project, at o.Endpoint if set.
func NewClient(ctx context.Context, o Output) (*bq.Client, error) {
	var opts []option.ClientOption
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(o.Endpoint), option.WithoutAuthentication())
	}
	c, err := bq.NewClient(ctx, o.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery client: %w", err)
	}
	return c, nil
}
