package pseudo_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulse-analytics/pulse/transforms/pseudo"
)

var (
	keyA = []byte("0123456789abcdef-key-A-32-bytes!")
	keyB = []byte("0123456789abcdef-key-B-32-bytes!")
)

func mustNew(t *testing.T, key []byte) *pseudo.Pseudonymizer {
	t.Helper()
	p, err := pseudo.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSameUserSamePseudonym(t *testing.T) {
	a1, a2, b := mustNew(t, keyA), mustNew(t, keyA), mustNew(t, keyB)
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]string{}
	for _, id := range []string{"u1", "u2", "", "user-with-ümlaut", strings.Repeat("x", 1000)} {
		p := a1.UserID(id)
		if !hexID.MatchString(p) {
			t.Errorf("UserID(%q) = %q, want 32 lower-case hex characters", id, p)
		}
		if again := a1.UserID(id); again != p {
			t.Errorf("UserID(%q) twice: %q then %q", id, p, again)
		}
		if other := a2.UserID(id); other != p {
			t.Errorf("UserID(%q) by a second Pseudonymizer with the same key = %q, want %q", id, other, p)
		}
		if q := b.UserID(id); q == p {
			t.Errorf("UserID(%q) is %q under two different keys", id, p)
		}
		if prev, dup := seen[p]; dup {
			t.Errorf("ids %q and %q share pseudonym %q", prev, id, p)
		}
		seen[p] = id
		if strings.Contains(p, id) && id != "" {
			t.Errorf("pseudonym %q contains the id %q", p, id)
		}
	}
}

func TestShortKeyRejected(t *testing.T) {
	if _, err := pseudo.New(make([]byte, pseudo.MinKeyBytes-1)); err == nil {
		t.Error("New accepted a 15-byte key")
	}
	if _, err := pseudo.New(make([]byte, pseudo.MinKeyBytes)); err != nil {
		t.Errorf("New rejected a 16-byte key: %v", err)
	}
}

// TestErrorsNeverContainTheKey feeds Validate keys that are too short or
// misconfigured and requires that no error message contains the key, in
// bytes or hex.
func TestErrorsNeverContainTheKey(t *testing.T) {
	dir := t.TempDir()
	short := "s3cr3t-sh0rt" // 12 bytes: rejected
	long := "s3cr3t-l0ng-enough-key-material"
	shortFile := filepath.Join(dir, "short.key")
	longFile := filepath.Join(dir, "long.key")
	if err := os.WriteFile(shortFile, []byte(short), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(longFile, []byte(long), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_SHORT_KEY", short)
	t.Setenv("PULSE_TEST_LONG_KEY", long)
	for _, tc := range []struct {
		name string
		cfg  pseudo.Config
		want string // a fragment the error must contain
	}{
		{"short file", pseudo.Config{KeyFile: shortFile}, "--pseudonymize_key_file"},
		{"short env", pseudo.Config{KeyEnv: "PULSE_TEST_SHORT_KEY"}, "--pseudonymize_key_env=PULSE_TEST_SHORT_KEY"},
		{"unset env", pseudo.Config{KeyEnv: "PULSE_TEST_UNSET_KEY"}, "not set"},
		{"missing file", pseudo.Config{KeyFile: filepath.Join(dir, "none")}, "no such file"},
		{"both", pseudo.Config{KeyFile: longFile, KeyEnv: "PULSE_TEST_LONG_KEY"}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", tc.cfg)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			for _, k := range []string{short, long, hex.EncodeToString([]byte(short)), hex.EncodeToString([]byte(long))} {
				if strings.Contains(msg, k) {
					t.Errorf("error %q contains the key", msg)
				}
			}
		})
	}
	for _, cfg := range []pseudo.Config{{KeyFile: longFile}, {KeyEnv: "PULSE_TEST_LONG_KEY"}, {}} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", cfg, err)
		}
	}
}

func TestLoadKeyIsTheFileOrVariable(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "k")
	if err := os.WriteFile(f, keyA, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_KEY", string(keyA))
	for _, cfg := range []pseudo.Config{{KeyFile: f}, {KeyEnv: "PULSE_TEST_KEY"}} {
		k, err := cfg.LoadKey()
		if err != nil || string(k) != string(keyA) {
			t.Errorf("LoadKey(%+v) = %q, %v; want the key", cfg, k, err)
		}
	}
}

func TestRedact(t *testing.T) {
	p := mustNew(t, keyA)
	u1 := p.UserID("u1")
	for _, tc := range []struct {
		name, raw, want string
		user, text      bool
	}{
		{"string id", `{"event_id":"e1","user_id":"u1","action":"teleport"}`,
			`{"event_id":"e1","user_id":"` + u1 + `","action":"teleport"}`, true, true},
		{"space trimmed as the decoder does", `{"user_id" : " u1 ","x":1}`,
			`{"user_id" : "` + u1 + `","x":1}`, true, true},
		{"escaped id", `{"user_id":"\u00751"}`, `{"user_id":"` + u1 + `"}`, true, true},
		{"integer id", `{"user_id":-7,"a":1}`, `{"user_id":"` + p.UserID("-7") + `","a":1}`, true, true},
		{"text dropped", `{"text":"my address is ...","user_id":"u1"}`, `{"text":"","user_id":"` + u1 + `"}`, true, true},
		{"text kept", `{"text":"hi","user_id":"u1"}`, `{"text":"hi","user_id":"` + u1 + `"}`, true, false},
		{"ids kept", `{"text":"hi","user_id":"u1"}`, `{"text":"","user_id":"u1"}`, false, true},
		{"truncated value runs to the end", `{"user_id":"u1 and more`, `{"user_id":"` + p.UserID("u1 and more") + `"`, true, true},
		{"escaped quote inside", `{"text":"a \"user_id\":\"u9\" b","user_id":"u1"}`, `{"text":"","user_id":"` + u1 + `"}`, true, true},
		{"key as a value is not a key", `{"action":"text","n":"user_id"}`, `{"action":"text","n":"user_id"}`, true, true},
		{"twice", `{"user_id":"u1"}{"user_id":"u1"}`, `{"user_id":"` + u1 + `"}{"user_id":"` + u1 + `"}`, true, true},
		{"not json", "not json", "not json", true, true},
		{"latin-1 byte in the name", "{\"user\xe9_id\":\"u1\"}", "{\"user\xe9_id\":\"" + u1 + "\"}", true, true},
		{"escaped name", `{"user\u005fid":"u1"}`, `{"user\u005fid":"` + u1 + `"}`, true, true},
		{"name without colon", `{"user_id" "u1"}`, `{"user_id" "` + u1 + `"}`, true, true},
		{"name as a value is not a name", `{"a":"user_id","b":"text"}`, `{"a":"user_id","b":"text"}`, true, true},
		{"invalid utf-8 kept around", "{\"user_id\":\"u1\",\"x\":\"\xff\"}", "{\"user_id\":\"" + u1 + "\",\"x\":\"\xff\"}", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pp *pseudo.Pseudonymizer
			if tc.user {
				pp = p
			}
			got, changed := pseudo.Redact([]byte(tc.raw), pp, tc.text)
			if string(got) != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			if changed != (tc.raw != tc.want) {
				t.Errorf("Redact(%q) changed = %v", tc.raw, changed)
			}
		})
	}
}

// FuzzRedact: Redact never panics, and whatever the payload, no `"user_id"`
// key followed by a string value keeps a value other than a pseudonym.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{`{"user_id":"u1","text":"x"}`, `{"user_id":`, `"text"`, `{"user_id":"\`, `{"user_id": 12e5}`} {
		f.Add([]byte(s))
	}
	p, err := pseudo.New(keyA)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, _ := pseudo.Redact(raw, p, true)
		again, _ := pseudo.Redact(out, nil, true)
		if string(again) != string(out) {
			t.Fatalf("text not fully dropped: %q → %q → %q", raw, out, again)
		}
	})
}
