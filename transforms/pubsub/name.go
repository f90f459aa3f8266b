// Package pubsub reads events from a Google Cloud Pub/Sub subscription on
// any Beam runner, and publishes events to a topic.
//
// The SDK's pubsubio runs only on Dataflow; Read is a splittable DoFn over
// the client library's streaming pull, so it runs on prism, Flink and
// Dataflow alike, and against the pstest fake or the emulator.
//
// Acknowledgement: a reader emits a batch, returns, and acknowledges that
// batch when the runner resumes it. The resumption is the residual of the
// bundle that emitted the batch, so the runner has accepted the bundle's
// outputs by then: on Dataflow the residual is part of the committed work
// item; on prism and Flink it follows the bundle's completion (Flink makes
// it durable only at its next checkpoint, so a failure between the two can
// lose the batch). A batch whose reader resumes in another process is
// never acknowledged here: Pub/Sub redelivers it after the lease
// (MaxExtension) and de-duplication drops the copies.
//
// Bundle finalization would be the textbook way, but the Go SDK (v2.77)
// replaces a plan's finalizer after the first finalization while the DoFns
// keep the old one, so only the first bundle of each plan is ever
// finalized; this package does not use it.
package pubsub

import (
	"fmt"
	"regexp"
	"strings"
)

// Scheme prefixes a Pub/Sub input or output: pubsub://projects/P/subscriptions/S
// or pubsub://projects/P/topics/T.
const Scheme = "pubsub://"

// Name is a parsed Pub/Sub resource name.
type Name struct {
	Project string
	// Kind is "subscriptions" or "topics".
	Kind string
	ID   string
}

// String is the resource's full name, projects/P/KIND/ID.
func (n Name) String() string { return "projects/" + n.Project + "/" + n.Kind + "/" + n.ID }

// URL is the name with the pubsub:// scheme.
func (n Name) URL() string { return Scheme + n.String() }

// The rules of https://cloud.google.com/pubsub/docs/create-topic#resource_names
// and of project ids, checked before anything reaches a client, a log or a
// path.
var (
	projectRE = regexp.MustCompile(`^[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	idRE      = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9._~+%]{2,254}$`)
)

// IsURL reports whether s names a Pub/Sub resource.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// Parse parses pubsub://projects/P/KIND/ID, requiring KIND to be kind.
func Parse(s, kind string) (Name, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Name{}, fmt.Errorf("%q: want %sprojects/PROJECT/%s/ID", s, Scheme, kind)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != kind {
		return Name{}, fmt.Errorf("%q: want %sprojects/PROJECT/%s/ID", s, Scheme, kind)
	}
	n := Name{Project: parts[1], Kind: kind, ID: parts[3]}
	if !projectRE.MatchString(n.Project) {
		return Name{}, fmt.Errorf("%q: project %q is not a valid project id (6-30 lowercase letters, digits, hyphens)", s, n.Project)
	}
	if !idRE.MatchString(n.ID) || strings.HasPrefix(n.ID, "goog") {
		return Name{}, fmt.Errorf("%q: %q is not a valid Pub/Sub id (3-255 of letters, digits, -._~+%%, starting with a letter, not goog)", s, n.ID)
	}
	return n, nil
}
