package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/transforms/gen"
)

// TestPortableRunnerMatchesInProcess starts the SDK's prism job server as a
// separate process on a loopback port, submits the monitor and learn
// pipelines to it with --runner=universal --environment_type=LOOPBACK, as a
// user submits to a Flink job server, and checks that every table equals
// the in-process run's.
func TestPortableRunnerMatchesInProcess(t *testing.T) {
	bin := t.TempDir()
	build(t, bin, "github.com/pulse-analytics/pulse/cmd/pulse", "github.com/apache/beam/sdks/v2/go/cmd/prism")
	port := freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	server := exec.CommandContext(ctx, filepath.Join(bin, "prism"), fmt.Sprintf("--job_port=%d", port), "--serve_http=false")
	var serverLog bytes.Buffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = server.Wait()
		if t.Failed() {
			t.Logf("job server log:\n%s", tail(serverLog.String()))
		}
	})
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, endpoint, time.Minute)

	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	writeEvents(t, in, 6000)
	local := filepath.Join(dir, "local")
	portable := filepath.Join(dir, "portable")
	pulse(t, bin, "--pipeline=all", "--input="+in, "--output="+local)
	pulse(t, bin, "--pipeline=all", "--input="+in, "--output="+portable,
		"--runner=universal", "--endpoint="+endpoint, "--environment_type=LOOPBACK")

	tables, _ := filepath.Glob(filepath.Join(local, "*"))
	if len(tables) < 8 {
		t.Fatalf("the in-process run wrote %d tables, want monitor's and learn's", len(tables))
	}
	for _, table := range tables {
		name := filepath.Base(table)
		want, got := rows(t, table), rows(t, filepath.Join(portable, name))
		if len(want) == 0 && name != "alerts" {
			t.Errorf("%s: the in-process run wrote no rows", name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the portable run wrote %d rows, the in-process run %d, and they differ", name, len(got), len(want))
		}
	}
}

func build(t *testing.T, dir string, pkgs ...string) {
	t.Helper()
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening polls until endpoint accepts a connection: the job server
// is ready when its port is, whatever the machine's speed.
func waitListening(t *testing.T, endpoint string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job server at %s not listening after %v: %v", endpoint, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeEvents(t *testing.T, path string, n int) {
	t.Helper()
	buf, err := gen.Lines(gen.Config{Seed: 11, Users: 3000, Items: 200, Rate: 20, Duplicates: 0.03, Late: 0.02, Malformed: 0.02}, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func pulse(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "pulse"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pulse %s: %v\n%s", strings.Join(args, " "), err, tail(string(out)))
	}
}

// rows returns a table's rows, canonical and sorted, without the
// processing-time column of the dead letter.
func rows(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var out []string
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fd)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			delete(m, "seen_at")
			b, _ := json.Marshal(m) // maps marshal with sorted keys
			out = append(out, string(b))
		}
		fd.Close()
	}
	slices.Sort(out)
	return out
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}
