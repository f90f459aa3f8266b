// Package pseudo pseudonymises events before anything is stored: it
// replaces event.UserID with a keyed HMAC-SHA256 of it and drops comment
// text (event.Text), unless the configuration explicitly keeps them.
//
// The pseudonym is the first 16 bytes (128 bits) of
// HMAC-SHA256(key, "pulse/user_id/v1\x00" + user_id), as 32 lower-case hex
// characters. The same user under the same key always gets the same
// pseudonym, so everything keyed by user_id downstream (sessions, unique
// users, per-user models) works unchanged; without the key the pseudonym
// cannot be reversed or recomputed from a guessed id. Two distinct ids
// collide with probability 2^-128; among n distinct users the chance of any
// collision is at most n²/2^129 (about 1.5e-21 for a billion users), so a
// collision is not a practical concern.
//
// The key is never part of the pipeline graph: the DoFns hold only the
// name of the environment variable or the path of the file that holds the
// key, and read the key on the worker in Setup. So the key is not in the
// job's serialised graph (on Dataflow: not in the staged job), nor in any
// log or error message; it must be present on every worker (the variable
// set in the worker environment, or the file in the worker image or a
// mounted secret). See docs/reliability.md.
package pseudo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
)

// MinKeyBytes is the shortest key accepted: 128 bits.
const MinKeyBytes = 16

// Size is the length of a pseudonym in hex characters (128 bits).
const Size = 32

// domain separates Pulse's user-id pseudonyms from any other use of the
// same key.
const domain = "pulse/user_id/v1\x00"

// Config selects where the key comes from and what is kept. The zero value
// pseudonymises nothing (Enabled is false).
type Config struct {
	// KeyFile is the path of a file whose bytes, as they are, are the key.
	KeyFile string
	// KeyEnv is the name of an environment variable whose value is the key.
	KeyEnv string
	// KeepRawUserIDs keeps user ids as received instead of pseudonyms.
	KeepRawUserIDs bool
	// KeepText keeps comment text instead of dropping it.
	KeepText bool
}

// Enabled reports whether a key source is configured.
func (c Config) Enabled() bool { return c.KeyFile != "" || c.KeyEnv != "" }

// Validate checks that at most one key source is set and, if one is, that
// the key can be read and is at least MinKeyBytes long. Its errors name the
// flag and never contain the key.
func (c Config) Validate() error {
	if c.KeyFile != "" && c.KeyEnv != "" {
		return errors.New("--pseudonymize_key_file and --pseudonymize_key_env: set one, not both")
	}
	if !c.Enabled() {
		return nil
	}
	_, err := c.LoadKey()
	return err
}

// LoadKey reads the key from its source. Its errors never contain the key.
func (c Config) LoadKey() ([]byte, error) {
	var key []byte
	switch {
	case c.KeyFile != "":
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			// The *PathError names the path and the failure, not the contents.
			return nil, fmt.Errorf("--pseudonymize_key_file: %w", err)
		}
		key = b
		if len(key) < MinKeyBytes {
			return nil, fmt.Errorf("--pseudonymize_key_file=%q: the key is %d bytes, want at least %d (e.g. head -c 32 /dev/urandom > %s)",
				c.KeyFile, len(key), MinKeyBytes, c.KeyFile)
		}
	case c.KeyEnv != "":
		v, ok := os.LookupEnv(c.KeyEnv)
		if !ok {
			return nil, fmt.Errorf("--pseudonymize_key_env=%s: the variable is not set", c.KeyEnv)
		}
		key = []byte(v)
		if len(key) < MinKeyBytes {
			return nil, fmt.Errorf("--pseudonymize_key_env=%s: the key is %d bytes, want at least %d", c.KeyEnv, len(key), MinKeyBytes)
		}
	default:
		return nil, errors.New("pseudo: no key source: set --pseudonymize_key_file or --pseudonymize_key_env")
	}
	return key, nil
}

// Pseudonymizer computes pseudonyms under one key. It is not safe for
// concurrent use; give each goroutine (or DoFn instance) its own.
type Pseudonymizer struct {
	mac hash.Hash
	sum []byte
}

// New returns a Pseudonymizer for key, which must be at least MinKeyBytes
// long. The error does not contain the key.
func New(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("pseudo: key is %d bytes, want at least %d", len(key), MinKeyBytes)
	}
	return &Pseudonymizer{mac: hmac.New(sha256.New, key), sum: make([]byte, 0, sha256.Size)}, nil
}

// UserID returns the pseudonym of id: 32 lower-case hex characters.
func (p *Pseudonymizer) UserID(id string) string {
	p.mac.Reset()
	p.mac.Write([]byte(domain))
	p.mac.Write([]byte(id))
	p.sum = p.mac.Sum(p.sum[:0])
	return hex.EncodeToString(p.sum[:Size/2])
}
