package pubsub

import (
	"context"
	"fmt"
	"time"

	ps "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Publish publishes each payload that next returns to topic, in batches,
// and returns how many were accepted. It waits for every publish to be
// acknowledged by the server before it returns.
func Publish(ctx context.Context, client *ps.Client, topic Name, next func() ([]byte, bool)) (int, error) {
	p := client.Publisher(topic.String())
	defer p.Stop()
	p.PublishSettings.CountThreshold = 1000
	p.PublishSettings.ByteThreshold = 1 << 20
	p.PublishSettings.DelayThreshold = 10 * time.Millisecond
	var results []*ps.PublishResult
	n := 0
	wait := func() error {
		for _, r := range results {
			if _, err := r.Get(ctx); err != nil {
				return fmt.Errorf("publish to %s: %w", topic, err)
			}
			n++
		}
		results = results[:0]
		return nil
	}
	for {
		data, ok := next()
		if !ok {
			break
		}
		results = append(results, p.Publish(ctx, &ps.Message{Data: data}))
		// Bound what is in flight.
		if len(results) == 10000 {
			if err := wait(); err != nil {
				return n, err
			}
		}
	}
	return n, wait()
}

// EnsureTopic creates topic unless it exists.
func EnsureTopic(ctx context.Context, client *ps.Client, topic Name) error {
	_, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic.String()})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// EnsureSubscription creates sub on topic unless it exists.
func EnsureSubscription(ctx context.Context, client *ps.Client, sub, topic Name) error {
	_, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub.String(), Topic: topic.String(), AckDeadlineSeconds: 60,
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create subscription %s: %w", sub, err)
	}
	return nil
}
