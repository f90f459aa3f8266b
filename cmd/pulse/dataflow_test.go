package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dataflowFlags submit to Dataflow with a made-up project and buckets.
// --dry_run makes the Dataflow runner translate the pipeline into a Dataflow
// job and log it instead of staging the worker binary and submitting, so no
// credentials and no network are needed.
var dataflowFlags = []string{
	"--runner=dataflow", "--dry_run",
	"--project=pulse-test", "--region=us-central1",
	"--staging_location=gs://pulse-test/staging", "--temp_location=gs://pulse-test/tmp",
}

// dataflowJob is the part of the Dataflow job (v1b3 Job JSON) the tests
// read from the dry run's log.
type dataflowJob struct {
	Name                 string            `json:"name"`
	ProjectID            string            `json:"projectId"`
	Type                 string            `json:"type"`
	TransformNameMapping map[string]string `json:"transformNameMapping"`
	Environment          struct {
		Experiments []string `json:"experiments"`
		Version     struct {
			JobType string `json:"job_type"`
		} `json:"version"`
		SdkPipelineOptions struct {
			GoOptions struct {
				Options map[string]string `json:"options"`
			} `json:"beam:option:go_options:v1"`
		} `json:"sdkPipelineOptions"`
		WorkerPools []struct {
			Packages []struct {
				Name     string `json:"name"`
				Location string `json:"location"`
			} `json:"packages"`
			WorkerHarnessContainerImage string `json:"workerHarnessContainerImage"`
		} `json:"workerPools"`
	} `json:"environment"`
}

// noCredentials points Google's default-credential lookup at a file that
// does not exist, so that the dry run fails to find credentials at once on
// any machine (a developer's gcloud login or a GCE metadata server would
// otherwise be found), and the runner's one GCS call (a soft-delete check
// of the staging bucket, logged as a warning when it fails) never leaves
// the process.
func noCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "no-credentials.json"))
}

// dryRun runs pulse with the Dataflow flags plus args and returns the job
// it logged. It fails the test unless pulse exits 0 and logs one job.
func dryRun(t *testing.T, args ...string) dataflowJob {
	t.Helper()
	code, _, stderr := pulse(t, append(append([]string{}, dataflowFlags...), args...)...)
	if code != 0 {
		t.Fatalf("pulse exited %d, want 0 (translation failed):\n%s", code, tail(stderr))
	}
	if !strings.Contains(stderr, "Dry-run: not submitting job!") {
		t.Fatalf("no dry-run line in the log; was the job submitted?\n%s", tail(stderr))
	}
	jobs := loggedJobs(t, stderr)
	if len(jobs) != 1 {
		t.Fatalf("%d Dataflow jobs in the log, want 1:\n%s", len(jobs), tail(stderr))
	}
	return jobs[0]
}

// loggedJobs finds the Dataflow jobs in Beam's log: each is one log line
// whose msg is the job as indented JSON.
func loggedJobs(t *testing.T, log string) []dataflowJob {
	t.Helper()
	var jobs []dataflowJob
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, ` msg="{`)
		if i < 0 {
			continue
		}
		msg, err := strconv.Unquote(line[i+len(" msg="):])
		if err != nil || !strings.Contains(msg, `"projectId"`) {
			continue
		}
		var j dataflowJob
		if err := json.Unmarshal([]byte(msg), &j); err != nil {
			t.Fatalf("the logged job is not JSON: %v", err)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// TestDataflowDryRunBatch translates every pipeline, reading files from
// Cloud Storage into BigQuery, into a Dataflow batch job, with no
// credentials and no network.
func TestDataflowDryRunBatch(t *testing.T) {
	noCredentials(t)
	in, out := "gs://pulse-test/events/*.jsonl", "bigquery://pulse-test/pulse"
	for _, p := range []string{"monitor", "learn", "all"} {
		t.Run(p, func(t *testing.T) {
			j := dryRun(t, "--pipeline="+p, "--input="+in, "--output="+out)
			if j.Type != "JOB_TYPE_BATCH" || j.Environment.Version.JobType != "FNAPI_BATCH" {
				t.Errorf("job type %q (%q), want JOB_TYPE_BATCH (FNAPI_BATCH) for a file input", j.Type, j.Environment.Version.JobType)
			}
			if j.ProjectID != "pulse-test" {
				t.Errorf("project %q, want pulse-test", j.ProjectID)
			}
			checkOptions(t, j, p, in, out)
			checkWorkerPool(t, j)
		})
	}
}

// checkOptions checks that the job carries pulse's flags: the workers
// rebuild the graph from them.
func checkOptions(t *testing.T, j dataflowJob, pipeline, in, out string) {
	t.Helper()
	opts := j.Environment.SdkPipelineOptions.GoOptions.Options
	if opts["pipeline"] != pipeline || opts["input"] != in || opts["output"] != out {
		t.Errorf("the job carries --pipeline=%q --input=%q --output=%q, want %q, %q, %q",
			opts["pipeline"], opts["input"], opts["output"], pipeline, in, out)
	}
}

// checkWorkerPool checks that the job runs Go workers from the SDK image of
// this Beam version and that the worker binary is staged under the staging
// location (the dry run itself stages nothing).
func checkWorkerPool(t *testing.T, j dataflowJob) {
	t.Helper()
	if len(j.Environment.WorkerPools) != 1 {
		t.Fatalf("%d worker pools, want 1", len(j.Environment.WorkerPools))
	}
	wp := j.Environment.WorkerPools[0]
	if !strings.HasSuffix(wp.WorkerHarnessContainerImage, "/beam_go_sdk:2.77.0") {
		t.Errorf("worker image %q, want Beam's Go SDK 2.77.0 image", wp.WorkerHarnessContainerImage)
	}
	found := false
	for _, pkg := range wp.Packages {
		if pkg.Name == "worker" && strings.HasPrefix(pkg.Location, "gs://pulse-test/staging/") {
			found = true
		}
	}
	if !found {
		t.Errorf("no worker package under gs://pulse-test/staging/: %+v", wp.Packages)
	}
}

// TestDataflowTransformMappingNeedsAStream shows --transform_name_mapping
// reaching the Dataflow runner: it refuses a mapping for a batch job, since
// only streaming jobs can be updated in place.
func TestDataflowTransformMappingNeedsAStream(t *testing.T) {
	noCredentials(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(in, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, dataflowFlags...), "--input="+in, "--output="+filepath.Join(dir, "out"),
		"--update", "--job_name=pulse-monitor", `--transform_name_mapping={"Monitor/Sessions":"Monitor/SessionsStream"}`)
	code, _, stderr := pulse(t, args...)
	if code == 0 || !strings.Contains(stderr, "transform_name_mapping for a batch pipeline") {
		t.Errorf("exit %d, want the runner's refusal of a mapping for a batch job:\n%s", code, tail(stderr))
	}
}

// TestDataflowDryRunStream translates every pipeline, reading Pub/Sub into
// BigQuery, into a Dataflow streaming job, and an update of it with a
// rename mapping.
func TestDataflowDryRunStream(t *testing.T) {
	noCredentials(t)
	in, out := "pubsub://projects/pulse-test/subscriptions/events", "bigquery://pulse-test/pulse"
	for _, p := range []string{"monitor", "learn", "all"} {
		t.Run(p, func(t *testing.T) {
			j := dryRun(t, "--pipeline="+p, "--input="+in, "--output="+out)
			if j.Type != "JOB_TYPE_STREAMING" || j.Environment.Version.JobType != "FNAPI_STREAMING" {
				t.Errorf("job type %q (%q), want JOB_TYPE_STREAMING (FNAPI_STREAMING) for a Pub/Sub input", j.Type, j.Environment.Version.JobType)
			}
			if !contains(j.Environment.Experiments, "enable_streaming_engine") {
				t.Errorf("experiments %v lack enable_streaming_engine, which Runner v2 streaming needs", j.Environment.Experiments)
			}
			checkOptions(t, j, p, in, out)
			checkWorkerPool(t, j)
		})
	}
	t.Run("update", func(t *testing.T) {
		mapping := map[string]string{"Monitor/Sessions": "Monitor/SessionsStream"}
		b, _ := json.Marshal(mapping)
		j := dryRun(t, "--pipeline=all", "--input="+in, "--output="+out,
			"--update", "--job_name=pulse-all", "--transform_name_mapping="+string(b))
		if j.Name != "pulse-all" {
			t.Errorf("job name %q, want pulse-all: --update replaces the running job of that name", j.Name)
		}
		if len(j.TransformNameMapping) != 1 || j.TransformNameMapping["Monitor/Sessions"] != "Monitor/SessionsStream" {
			t.Errorf("transform name mapping %v, want %v", j.TransformNameMapping, mapping)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
