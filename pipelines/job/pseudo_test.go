package job_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pulse-analytics/pulse/pipelines/job"
	"github.com/pulse-analytics/pulse/pipelines/monitor"
	"github.com/pulse-analytics/pulse/transforms/deadletter"
	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/pseudo"
	"github.com/pulse-analytics/pulse/transforms/sessions"
)

// TestPseudonymizedJobStoresNoRawIDs runs the whole job (monitor and
// learn) on a generated stream with comments and malformed lines, with a
// pseudonymisation key, and scans every row of every table: no string
// value is a raw user id or contains one as a user_id member (the dead
// letter's raw payloads), and no comment text is stored. user_sessions
// carries exactly the pseudonyms of the input's users, so that keying by
// user still works. The key appears in no log line.
func TestPseudonymizedJobStoresNoRawIDs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	buf, err := gen.Lines(gen.Config{Seed: 11, Users: 300, Items: 100, Rate: 5, Malformed: 0.05, Duplicates: 0.02}, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	key := []byte("pulse-test-key-0123456789abcdef!")
	keyFile := filepath.Join(dir, "pseudo.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := pseudo.New(key)
	if err != nil {
		t.Fatal(err)
	}

	rawIDs, texts := map[string]bool{}, map[string]bool{}
	wantUsers := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(buf))
	for sc.Scan() {
		e, err := event.Decode(sc.Bytes())
		if err != nil {
			continue
		}
		rawIDs[e.UserID] = true
		wantUsers[p.UserID(e.UserID)] = true
		if e.Text != "" {
			texts[e.Text] = true
		}
	}
	if len(texts) == 0 || len(rawIDs) < 50 {
		t.Fatalf("the generated input has %d users and %d comment texts: too few to test", len(rawIDs), len(texts))
	}

	logs := captureLogs(t)
	out := filepath.Join(dir, "out")
	run(t, job.Config{Pipeline: job.All, Input: in, Output: out, Pseudonymize: pseudo.Config{KeyFile: keyFile}})

	member := regexp.MustCompile(`"user_id"\s*:\s*"([^"]*)"`)
	rows := 0
	tables, _ := filepath.Glob(filepath.Join(out, "*"))
	for _, table := range tables {
		files, _ := filepath.Glob(filepath.Join(table, "*.jsonl"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				var v any
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				rows++
				walkStrings(v, func(s string) {
					if rawIDs[s] {
						t.Errorf("%s: raw user id %q stored in %s", filepath.Base(table), s, line)
					}
					for _, m := range member.FindAllStringSubmatch(s, -1) {
						if !wantUsers[m[1]] {
							t.Errorf("%s: user_id %q in a stored payload is not a pseudonym: %s", filepath.Base(table), m[1], s)
						}
					}
					for text := range texts {
						if strings.Contains(s, text) {
							t.Errorf("%s: comment text %q stored", filepath.Base(table), text)
						}
					}
				})
			}
		}
	}
	if rows == 0 {
		t.Fatal("no rows written")
	}
	dead := readRows[deadletter.Row](t, filepath.Join(out, deadletter.Table))
	withID := 0
	for _, d := range dead {
		if member.MatchString(d.Raw) {
			withID++
		}
	}
	if withID == 0 {
		t.Error("no dead-letter payload kept a (pseudonymised) user_id: the redaction test saw nothing")
	}
	gotUsers := map[string]bool{}
	for _, r := range readRows[sessions.Row](t, filepath.Join(out, monitor.TableUserSessions)) {
		gotUsers[r.UserID] = true
	}
	for u := range gotUsers {
		if !wantUsers[u] {
			t.Errorf("user_sessions user %q is not the pseudonym of an input user", u)
		}
	}
	if len(gotUsers) != len(wantUsers) {
		t.Errorf("user_sessions has %d users, the input %d", len(gotUsers), len(wantUsers))
	}
	for _, k := range []string{string(key), hex.EncodeToString(key)} {
		if strings.Contains(logs(), k) {
			t.Error("the key appears in the logs")
		}
	}
	if logs() == "" {
		t.Error("captured no log lines: the log check saw nothing")
	}
}

func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	case map[string]any:
		for k, x := range v {
			f(k)
			walkStrings(x, f)
		}
	}
}

// captureLogs sends the standard and slog loggers to a buffer for the rest
// of the test, and returns a function that reads it.
func captureLogs(t *testing.T) func() string {
	var mu sync.Mutex
	var b bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return b.Write(p)
	})
	oldSlog, oldLog := slog.Default(), log.Writer()
	slog.SetDefault(slog.New(slog.NewTextHandler(w, nil)))
	log.SetOutput(w)
	t.Cleanup(func() {
		slog.SetDefault(oldSlog)
		log.SetOutput(oldLog)
	})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
