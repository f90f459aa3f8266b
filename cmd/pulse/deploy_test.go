package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"
	"go.yaml.in/yaml/v3"
)

// The deployment kits in docs/deploy cannot be run here (no Docker engine,
// no cloud account). These tests check what can be checked: the files
// parse, name images of this binary's Beam version and a Flink version that
// Beam publishes a job server for, wire the services as the Go SDK harness
// needs, and pass pulse only flags it has; the Flex Template's parameters
// translate into a Dataflow job.

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// beamFlinkVersions are the Flink versions Beam 2.77.0 publishes a job
// server for (PUBLISHED_FLINK_VERSIONS in the SDK's
// python/apache_beam/options/pipeline_options.py of that release).
var beamFlinkVersions = []string{"1.19", "1.20", "2.0", "2.1", "2.2"}

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string   `yaml:"image"`
	Command     any      `yaml:"command"`
	NetworkMode string   `yaml:"network_mode"`
	Volumes     []string `yaml:"volumes"`
	User        string   `yaml:"user"`
	GroupAdd    []string `yaml:"group_add"`
	Build       struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
}

// args returns the command as a list, whichever YAML form it has.
func (s composeService) args() []string {
	switch c := s.Command.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		var out []string
		for _, a := range c {
			out = append(out, a.(string))
		}
		return out
	}
	return nil
}

func readCompose(t *testing.T, name string) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy", "flink", name))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

var (
	jobServerImage = regexp.MustCompile(`^apache/beam_flink([0-9]+\.[0-9]+)_job_server:(.+)$`)
	flinkImage     = regexp.MustCompile(`^flink:([0-9]+\.[0-9]+)\.[0-9]+-scala_2\.12-java(11|17)$`)
)

func TestFlinkComposeFiles(t *testing.T) {
	for _, tc := range []struct {
		file     string
		services []string
		external bool
	}{
		{"docker-compose.yaml", []string{"jobmanager", "taskmanager", "jobserver", "workerpool"}, true},
		{"docker-compose.docker-env.yaml", []string{"jobmanager", "taskmanager", "jobserver"}, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := readCompose(t, tc.file)
			for _, name := range tc.services {
				if _, ok := c.Services[name]; !ok {
					t.Fatalf("no service %q", name)
				}
			}
			js := c.Services["jobserver"]
			m := jobServerImage.FindStringSubmatch(js.Image)
			if m == nil {
				t.Fatalf("job server image %q is not apache/beam_flinkX.Y_job_server:VERSION", js.Image)
			}
			if m[2] != core.SdkVersion {
				t.Errorf("job server %s, but pulse is built with Beam %s: job server and SDK versions must match", js.Image, core.SdkVersion)
			}
			if !slices.Contains(beamFlinkVersions, m[1]) {
				t.Errorf("Flink %s has no Beam %s job server (published: %v)", m[1], core.SdkVersion, beamFlinkVersions)
			}
			for _, name := range []string{"jobmanager", "taskmanager"} {
				img := c.Services[name].Image
				if b := c.Services[name].Build; b.Dockerfile != "" {
					// A built image: its Flink version is the one it starts FROM.
					img = baseImage(t, filepath.Join(repoRoot, "docs", "deploy", "flink", b.Context, b.Dockerfile))
				}
				f := flinkImage.FindStringSubmatch(img)
				if f == nil {
					t.Errorf("%s image %q is not an official flink:X.Y.Z-scala_2.12-javaN image", name, img)
				} else if f[1] != m[1] {
					t.Errorf("%s runs Flink %s but the job server is built for Flink %s", name, f[1], m[1])
				}
			}

			// The job server writes staged artifacts where the task managers
			// read them: the same volume at --artifacts-dir on both.
			dir := argValue(js.args(), "--artifacts-dir")
			if dir == "" {
				t.Fatalf("job server has no --artifacts-dir: %v", js.args())
			}
			for _, name := range []string{"jobserver", "taskmanager"} {
				if !mounts(c.Services[name], dir) {
					t.Errorf("%s does not mount the artifacts volume at %s: %v", name, dir, c.Services[name].Volumes)
				}
			}
			master := argValue(js.args(), "--flink-master")
			host := strings.TrimSuffix(master, ":8081")
			if host == master || (host != "localhost" && c.Services[host].Image == "") {
				t.Errorf("--flink-master=%q is not the jobmanager's REST port", master)
			}
			if js.NetworkMode == "host" && host != "localhost" {
				t.Errorf("a host-network job server reaches the job manager at localhost, not %s", host)
			}

			if tc.external {
				wp := c.Services["workerpool"]
				if wp.Image != "apache/beam_go_sdk:"+core.SdkVersion {
					t.Errorf("worker pool image %q, want apache/beam_go_sdk:%s", wp.Image, core.SdkVersion)
				}
				if !slices.Equal(wp.args(), []string{"--worker_pool"}) {
					t.Errorf("worker pool command %v, want [--worker_pool] (the Go SDK boot's pool mode, port 50000)", wp.args())
				}
				// The SDK worker dials the task's endpoints on localhost.
				if wp.NetworkMode != "service:taskmanager" {
					t.Errorf("worker pool network_mode %q, want service:taskmanager", wp.NetworkMode)
				}
				return
			}
			tm := c.Services["taskmanager"]
			if tm.NetworkMode != "host" || !mounts(tm, "/var/run/docker.sock") {
				t.Errorf("a DOCKER environment needs the task manager on the host network with the Docker socket; got network_mode %q, volumes %v", tm.NetworkMode, tm.Volumes)
			}
			if tm.User == "" || len(tm.GroupAdd) == 0 {
				t.Errorf("the task manager must run as a user in the docker group (user %q, group_add %v)", tm.User, tm.GroupAdd)
			}
		})
	}
}

// baseImage returns the image a Dockerfile's last stage starts FROM.
func baseImage(t *testing.T, path string) string {
	t.Helper()
	from := ""
	for _, ins := range dockerfile(t, path) {
		if ins[0] == "FROM" {
			from = ins[1]
		}
	}
	return from
}

func argValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func mounts(s composeService, target string) bool {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return true
		}
	}
	return false
}

// dockerInstructions are the Dockerfile instructions.
var dockerInstructions = map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true,
	"ENV": true, "ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true,
	"ARG": true, "ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}

// dockerfile returns a Dockerfile's instructions, continuation lines joined.
func dockerfile(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var cur string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if c, ok := strings.CutSuffix(line, `\`); ok {
			cur += c + " "
			continue
		}
		f := strings.Fields(cur + line)
		cur = ""
		if !dockerInstructions[f[0]] {
			t.Errorf("%s: %q is not a Dockerfile instruction", path, f[0])
		}
		out = append(out, f)
	}
	if cur != "" {
		t.Errorf("%s ends in a continuation line", path)
	}
	return out
}

func TestFlexTemplateDockerfile(t *testing.T) {
	path := filepath.Join(repoRoot, "docs", "deploy", "dataflow", "Dockerfile")
	vars := map[string]string{}
	var binary, entrypoint string
	copied := map[string]bool{}
	for _, ins := range dockerfile(t, path) {
		expand := func(s string) string {
			return os.Expand(s, func(k string) string { return vars[k] })
		}
		switch ins[0] {
		case "ARG":
			if k, v, ok := strings.Cut(ins[1], "="); ok {
				vars[k] = v
			}
		case "ENV":
			if k, v, ok := strings.Cut(ins[1], "="); ok && k == "FLEX_TEMPLATE_GO_BINARY" {
				binary = expand(v)
			}
		case "ENTRYPOINT":
			entrypoint = strings.Join(ins[1:], " ")
		case "COPY":
			args := ins[1:]
			from := strings.HasPrefix(args[0], "--from=")
			if from {
				args = args[1:]
			}
			copied[expand(args[len(args)-1])] = true
			if !from {
				for _, src := range args[:len(args)-1] {
					if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
						t.Errorf("COPY %s: not in the build context (the repository root): %v", src, err)
					}
				}
			}
		case "RUN":
			run := strings.Join(ins[1:], " ")
			if i := strings.Index(run, "go build"); i >= 0 {
				pkg := run[strings.LastIndex(run, " ")+1:]
				if _, err := os.Stat(filepath.Join(repoRoot, pkg, "main.go")); err != nil {
					t.Errorf("go build of %s: %v", pkg, err)
				}
			}
		}
	}
	if binary == "" || !copied[binary] {
		t.Errorf("FLEX_TEMPLATE_GO_BINARY=%q is not a file the image copies in (%v)", binary, copied)
	}
	if !strings.Contains(entrypoint, "/opt/google/dataflow/go_template_launcher") {
		t.Errorf("entrypoint %s is not the Go template launcher", entrypoint)
	}
	dockerfile(t, filepath.Join(repoRoot, "docs", "deploy", "flink", "taskmanager.Dockerfile"))

	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy", "dataflow", "cloudbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cb struct {
		Steps []struct {
			Args []string `yaml:"args"`
		} `yaml:"steps"`
	}
	if err := yaml.Unmarshal(b, &cb); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	if len(cb.Steps) != 1 || argAfter(cb.Steps[0].Args, "-f") != "docs/deploy/dataflow/Dockerfile" {
		t.Errorf("cloudbuild.yaml does not build docs/deploy/dataflow/Dockerfile: %+v", cb.Steps)
	}
}

func argAfter(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

type templateMetadata struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  []struct {
		Name       string   `json:"name"`
		Label      string   `json:"label"`
		HelpText   string   `json:"helpText"`
		IsOptional bool     `json:"isOptional"`
		Regexes    []string `json:"regexes"`
	} `json:"parameters"`
}

// TestFlexTemplateMetadata checks that every template parameter is a pulse
// flag whose default passes the parameter's regexes, then launches a dry
// run with every parameter and the options the Flex launcher adds, as the
// launcher would start pulse.
func TestFlexTemplateMetadata(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy", "dataflow", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md templateMetadata
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&md); err != nil {
		t.Fatalf("metadata.json: %v", err)
	}
	noCredentials(t)
	args := []string{"--runner=DataflowRunner", "--job_name=pulse-flex",
		"--service_account_email=pulse-worker@pulse-test.iam.gserviceaccount.com",
		"--max_num_workers=4", "--worker_machine_type=n2-standard-2", `--labels={"app":"pulse"}`}
	seen := map[string]bool{}
	for _, p := range md.Parameters {
		if seen[p.Name] {
			t.Errorf("parameter %q listed twice", p.Name)
		}
		seen[p.Name] = true
		f := flag.Lookup(p.Name)
		if f == nil {
			t.Errorf("template parameter %q is not a pulse flag", p.Name)
			continue
		}
		if p.Label == "" || p.HelpText == "" {
			t.Errorf("parameter %q lacks a label or help text", p.Name)
		}
		value := f.DefValue
		switch p.Name {
		case "input":
			value = "pubsub://projects/pulse-test/subscriptions/events"
		case "output":
			value = "bigquery://pulse-test/pulse"
		case "pipeline":
			value = "all"
		}
		for _, re := range p.Regexes {
			rx, err := regexp.Compile(re)
			if err != nil {
				t.Errorf("parameter %q: regex %q: %v", p.Name, re, err)
			} else if !rx.MatchString(value) {
				t.Errorf("parameter %q: the flag's value %q fails the template's regex %q", p.Name, value, re)
			}
		}
		args = append(args, "--"+p.Name+"="+value)
	}
	for _, must := range []string{"input", "output", "pipeline"} {
		if !seen[must] {
			t.Errorf("no %q parameter", must)
		}
	}
	j := dryRun(t, args...)
	if j.Name != "pulse-flex" || j.Type != "JOB_TYPE_STREAMING" {
		t.Errorf("job %q of type %q, want pulse-flex, JOB_TYPE_STREAMING", j.Name, j.Type)
	}
}

// docFlag matches a flag of a pulse command line in the docs.
var docFlag = regexp.MustCompile(`(?:^|\s)--([a-z_]+)`)

// TestDocumentedCommandsUseRealFlags reads every pulse command in the
// runner and deployment docs and checks each flag exists, so a copied
// command is not refused as "flag provided but not defined".
func TestDocumentedCommandsUseRealFlags(t *testing.T) {
	docs, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "deploy", "*", "*"))
	docs = append(docs, filepath.Join(repoRoot, "docs", "runners.md"))
	commands := 0
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			line := strings.TrimPrefix(strings.TrimLeft(strings.TrimSpace(lines[i]), "#$ "), "bin/")
			if !strings.HasPrefix(line, "pulse ") {
				continue
			}
			cmd := line
			for strings.HasSuffix(strings.TrimSpace(lines[i]), `\`) && i+1 < len(lines) {
				i++
				cmd += " " + strings.TrimLeft(strings.TrimSpace(lines[i]), "#")
			}
			commands++
			for _, m := range docFlag.FindAllStringSubmatch(cmd, -1) {
				if flag.Lookup(m[1]) == nil {
					t.Errorf("%s: pulse has no flag --%s: %s", path, m[1], cmd)
				}
			}
		}
	}
	if commands < 5 {
		t.Errorf("found %d pulse commands in the docs, want the documented ones", commands)
	}
}
