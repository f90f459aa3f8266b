package pubsub

import (
	"context"
	"fmt"

	ps "cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// NewClient connects to Pub/Sub for project: to Google with the ambient
// credentials when endpoint is empty (or to $PUBSUB_EMULATOR_HOST when
// set), else to the emulator or fake at endpoint (host:port, plaintext,
// no credentials).
func NewClient(ctx context.Context, project, endpoint string) (*ps.Client, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts,
			option.WithEndpoint(endpoint),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	c, err := ps.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return c, nil
}
