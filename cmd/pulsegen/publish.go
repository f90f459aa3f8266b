package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	ps "cloud.google.com/go/pubsub/v2"

	"github.com/pulse-analytics/pulse/transforms/pubsub"
)

// publisher is an io.Writer that publishes each line written to it as one
// Pub/Sub message, batched by the client library.
type publisher struct {
	ctx     context.Context
	client  *ps.Client
	pub     *ps.Publisher
	topic   pubsub.Name
	partial []byte
	results []*ps.PublishResult
}

// newPublisher publishes to topic; with an endpoint (an emulator) it
// creates the topic first if needed.
func newPublisher(ctx context.Context, topic pubsub.Name, endpoint string) (*publisher, error) {
	c, err := pubsub.NewClient(ctx, topic.Project, endpoint)
	if err != nil {
		return nil, err
	}
	if endpoint != "" {
		if err := pubsub.EnsureTopic(ctx, c, topic); err != nil {
			c.Close()
			return nil, err
		}
	}
	p := c.Publisher(topic.String())
	p.PublishSettings.CountThreshold = 1000
	p.PublishSettings.ByteThreshold = 1 << 20
	p.PublishSettings.DelayThreshold = 10 * time.Millisecond
	return &publisher{ctx: ctx, client: c, pub: p, topic: topic}, nil
}

func (p *publisher) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			break
		}
		line := append(append([]byte(nil), p.partial...), b[:i]...)
		p.partial = p.partial[:0]
		b = b[i+1:]
		p.results = append(p.results, p.pub.Publish(p.ctx, &ps.Message{Data: line}))
		if len(p.results) == 10000 {
			if err := p.wait(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (p *publisher) wait() error {
	for _, r := range p.results {
		if _, err := r.Get(p.ctx); err != nil {
			return fmt.Errorf("publish to %s: %w", p.topic, err)
		}
	}
	p.results = p.results[:0]
	return nil
}

// Close publishes what is left and waits for every message.
func (p *publisher) Close() error {
	if len(p.partial) > 0 {
		p.results = append(p.results, p.pub.Publish(p.ctx, &ps.Message{Data: p.partial}))
	}
	err := p.wait()
	p.pub.Stop()
	if cerr := p.client.Close(); err == nil {
		err = cerr
	}
	return err
}
