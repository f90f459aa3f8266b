// Package stack starts Pulse's local stack in process, on loopback: the
// Pub/Sub fake server (pstest, from the Pub/Sub client library) and the
// BigQuery emulator (github.com/goccy/bigquery-emulator, which needs cgo:
// it lives in this module so that the library's users never build it).
package stack

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/goccy/bigquery-emulator/server"
	"github.com/goccy/bigquery-emulator/types"
)

// Stack is a running local stack.
type Stack struct {
	// PubSubAddr is the fake's host:port, for --pubsub_endpoint or
	// PUBSUB_EMULATOR_HOST.
	PubSubAddr string
	// BigQueryURL is the emulator's base URL, for --bigquery_endpoint.
	BigQueryURL string
	// PubSub is the fake, to inspect published messages and their acks.
	PubSub *pstest.Server

	bq   *server.Server
	test *server.TestServer
}

// Start starts both services with an empty BigQuery project.
func Start(project string) (*Stack, error) {
	bqs, err := server.New(server.TempStorage)
	if err != nil {
		return nil, fmt.Errorf("bigquery emulator: %w", err)
	}
	if err := bqs.Load(server.StructSource(types.NewProject(project))); err != nil {
		return nil, fmt.Errorf("bigquery emulator: project %s: %w", project, err)
	}
	ts := bqs.TestServer()
	ps := pstest.NewServer()
	return &Stack{PubSubAddr: ps.Addr, BigQueryURL: ts.URL, PubSub: ps, bq: bqs, test: ts}, nil
}

// Close stops both services.
func (s *Stack) Close() error {
	s.PubSub.Close()
	s.test.Close()
	return s.bq.Stop(context.Background())
}
