package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadPseudonymizationKeysExitTwoWithoutTheKey: a short key from a file
// or a variable, an unset variable, a missing file and both sources at once
// end pulse with exit code 2 and one line naming the flag, and the key's
// bytes appear nowhere in its output.
func TestBadPseudonymizationKeysExitTwoWithoutTheKey(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "e.jsonl")
	if err := os.WriteFile(in, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const short = "tiny-s3cret" // 11 bytes
	keyFile := filepath.Join(dir, "short.key")
	if err := os.WriteFile(keyFile, []byte(short), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULSE_TEST_SHORT_KEY", short)
	base := []string{"--input=" + in, "--output=" + filepath.Join(dir, "out")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"short key file", []string{"--pseudonymize_key_file=" + keyFile}, "--pseudonymize_key_file"},
		{"short key variable", []string{"--pseudonymize_key_env=PULSE_TEST_SHORT_KEY"}, "--pseudonymize_key_env=PULSE_TEST_SHORT_KEY"},
		{"unset variable", []string{"--pseudonymize_key_env=PULSE_TEST_NO_SUCH_KEY"}, "not set"},
		{"missing file", []string{"--pseudonymize_key_file=" + filepath.Join(dir, "none")}, "--pseudonymize_key_file"},
		{"both", []string{"--pseudonymize_key_file=" + keyFile, "--pseudonymize_key_env=PULSE_TEST_SHORT_KEY"}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pulse(t, append(base, tc.args...)...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tc.want)
			}
			if strings.Contains(stdout+stderr, short) {
				t.Errorf("the key is in the output: %q", stdout+stderr)
			}
		})
	}
}
