package pubsub_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/pulse-analytics/pulse/transforms/event"
	"github.com/pulse-analytics/pulse/transforms/gen"
	"github.com/pulse-analytics/pulse/transforms/parse"
	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// fake starts a pstest server with a topic and a subscription on it.
func fake(t *testing.T) (srv *pstest.Server, topic, sub pubsub.Name) {
	t.Helper()
	srv = pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	topic = pubsub.Name{Project: "pulse-test", Kind: "topics", ID: "events"}
	sub = pubsub.Name{Project: "pulse-test", Kind: "subscriptions", ID: "events-pulse"}
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, topic.Project, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := pubsub.EnsureTopic(ctx, c, topic); err != nil {
		t.Fatal(err)
	}
	if err := pubsub.EnsureSubscription(ctx, c, sub, topic); err != nil {
		t.Fatal(err)
	}
	return srv, topic, sub
}

func publish(t *testing.T, srv *pstest.Server, topic pubsub.Name, lines [][]byte) {
	t.Helper()
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, topic.Project, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	i := 0
	n, err := pubsub.Publish(ctx, c, topic, func() ([]byte, bool) {
		if i == len(lines) {
			return nil, false
		}
		i++
		return lines[i-1], true
	})
	if err != nil || n != len(lines) {
		t.Fatalf("published %d of %d: %v", n, len(lines), err)
	}
}

// TestReadDeliversEveryMessageOnceAndAcksIt publishes generated events with
// malformed ones, reads them on prism with one and with several readers, and
// requires every valid event parsed, every malformed one dead-lettered, and
// every message acknowledged once the pipeline has finished.
func TestReadDeliversEveryMessageOnceAndAcksIt(t *testing.T) {
	for _, readers := range []int{1, 3} {
		t.Run(fmt.Sprintf("readers=%d", readers), func(t *testing.T) {
			srv, topic, sub := fake(t)
			data, err := gen.Lines(gen.Config{Seed: 7, Users: 50, Items: 40, Malformed: 0.1}, 3000)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			g, _ := gen.New(gen.Config{Seed: 7, Users: 50, Items: 40, Malformed: 0.1})
			buf := []byte(nil)
			for range lines {
				buf, _ = g.Next(buf[:0])
			}
			st := g.Stats()
			publish(t, srv, topic, lines)

			p, s := beam.NewPipelineWithRoot()
			msgs := pubsub.Read(s, pubsub.ReadConfig{Subscription: sub, Endpoint: srv.Addr, Readers: readers, MaxBatch: 250, Streams: 32, IdleStop: time.Second})
			events, dead := parse.Messages(s, sub.URL(), msgs)
			passert.Count(s, beam.WindowInto(s, window.NewGlobalWindows(), events), "events", int(st.Valid))
			passert.Count(s, beam.WindowInto(s, window.NewGlobalWindows(), dead), "dead", int(st.Malformed))
			if _, err := ptest.RunWithMetrics(p); err != nil {
				t.Fatal(err)
			}
			for _, m := range srv.Messages() {
				if m.Acks == 0 {
					t.Fatalf("message %s was never acknowledged", m.ID)
				}
			}
		})
	}
}

// TestMalformedMessagesDoNotMoveTheEventWatermark publishes events whose
// event times are months before their publish times, with malformed
// messages among them, and groups the events in one-minute event-time
// windows with no allowed lateness: the grouping drops late data, so every
// event reaching it proves that no malformed message (which has only a
// publish time) pushed the watermark to the present. The fake delivers out
// of order over its streams, so the skew spans the whole stream.
func TestMalformedMessagesDoNotMoveTheEventWatermark(t *testing.T) {
	srv, topic, sub := fake(t)
	cfg := gen.Config{Seed: 3, Users: 50, Items: 40, Malformed: 0.2}
	data, err := gen.Lines(cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	g, _ := gen.New(cfg)
	buf := []byte(nil)
	for range lines {
		buf, _ = g.Next(buf[:0])
	}
	st := g.Stats()
	if st.Malformed == 0 || st.Valid == 0 {
		t.Fatalf("generated %v: want both valid and malformed lines", st)
	}
	publish(t, srv, topic, lines)

	p, s := beam.NewPipelineWithRoot()
	msgs := pubsub.Read(s, pubsub.ReadConfig{Subscription: sub, Endpoint: srv.Addr, MaxBatch: 50, Streams: 32, IdleStop: time.Second, MaxSkew: 24 * time.Hour})
	events, _ := parse.Messages(s, sub.URL(), msgs)
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Minute), events)
	grouped := beam.GroupByKey(s, beam.ParDo(s, byAction, windowed))
	counts := beam.ParDo(s, countGroup, grouped)
	total := stats.Sum(s, beam.WindowInto(s, window.NewGlobalWindows(), counts))
	passert.Equals(s, total, int(st.Valid))
	ptest.RunAndValidate(t, p)
}

func byAction(e event.Event) (string, event.Event) { return e.Action.String(), e }

func countGroup(_ string, es func(*event.Event) bool) int {
	n := 0
	var e event.Event
	for es(&e) {
		n++
	}
	return n
}

func init() {
	register.Function1x2(byAction)
	register.Function2x1(countGroup)
	register.Iter1[event.Event]()
}
