package pubsub

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	ps "cloud.google.com/go/pubsub/v2"
)

// receiver is one streaming pull per subscription per process, shared by
// every DoFn instance and reader of that subscription in the process: a
// second pull would hold messages that no running bundle drains.
type receiver struct {
	msgs chan *ps.Message
	// outstanding counts messages received and not yet acked or nacked;
	// a reader stops for idleness only when it is zero, so that nothing
	// received is left unacknowledged.
	outstanding atomic.Int64
	// lastNanos is when the last message arrived.
	lastNanos atomic.Int64
	done      chan struct{}
	err       error // set before done closes

	mu sync.Mutex
	// pending holds, per reader, messages to ack when the reader next
	// resumes (ack mode "resume").
	pending map[int][]*ps.Message

	client *ps.Client
	cancel context.CancelFunc
	refs   int
}

var receivers = struct {
	sync.Mutex
	m map[string]*receiver
}{m: map[string]*receiver{}}

func receiverKey(endpoint string, sub Name) string { return endpoint + "|" + sub.String() }

// acquire returns the process's receiver of sub, starting it on first use.
func acquire(endpoint string, sub Name, maxOutstanding, streams int) (*receiver, error) {
	receivers.Lock()
	defer receivers.Unlock()
	key := receiverKey(endpoint, sub)
	if r, ok := receivers.m[key]; ok {
		r.refs++
		return r, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	client, err := NewClient(ctx, sub.Project, endpoint)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &receiver{
		msgs:    make(chan *ps.Message, maxOutstanding),
		done:    make(chan struct{}),
		pending: map[int][]*ps.Message{},
		client:  client,
		cancel:  cancel,
		refs:    1,
	}
	r.lastNanos.Store(time.Now().UnixNano())
	s := client.Subscriber(sub.String())
	s.ReceiveSettings.MaxOutstandingMessages = maxOutstanding
	s.ReceiveSettings.MaxOutstandingBytes = 256 << 20
	s.ReceiveSettings.NumGoroutines = streams
	// A message whose bundle never commits is redelivered after this.
	s.ReceiveSettings.MaxExtension = 10 * time.Minute
	go func() {
		err := s.Receive(ctx, func(ctx context.Context, m *ps.Message) {
			r.outstanding.Add(1)
			r.lastNanos.Store(time.Now().UnixNano())
			select {
			case r.msgs <- m:
			case <-ctx.Done():
				r.settle([]*ps.Message{m}, false)
			}
		})
		if err != nil {
			r.err = fmt.Errorf("pubsub receive %s: %w", sub, err)
		}
		close(r.done)
	}()
	receivers.m[key] = r
	return r, nil
}

// release drops a reference; the last one stops the pull, nacking what
// no bundle took so that Pub/Sub redelivers it at once.
func release(endpoint string, sub Name) {
	receivers.Lock()
	key := receiverKey(endpoint, sub)
	r, ok := receivers.m[key]
	if !ok {
		receivers.Unlock()
		return
	}
	r.refs--
	if r.refs > 0 {
		receivers.Unlock()
		return
	}
	delete(receivers.m, key)
	receivers.Unlock()
	r.cancel()
	r.mu.Lock()
	for k, ms := range r.pending {
		r.settle(ms, false)
		delete(r.pending, k)
	}
	r.mu.Unlock()
	// Receive returns once every message is settled or expired; bundles
	// still awaiting finalization settle theirs, so do not wait here.
	go func() {
		for {
			select {
			case m := <-r.msgs:
				r.settle([]*ps.Message{m}, false)
			case <-r.done:
				r.client.Close()
				return
			}
		}
	}()
}

// settle acks (or nacks) messages.
func (r *receiver) settle(ms []*ps.Message, ack bool) {
	for _, m := range ms {
		if ack {
			m.Ack()
		} else {
			m.Nack()
		}
	}
	r.outstanding.Add(-int64(len(ms)))
}

// takePending returns and forgets the messages reader left to ack.
func (r *receiver) takePending(reader int) []*ps.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := r.pending[reader]
	delete(r.pending, reader)
	return ms
}

func (r *receiver) addPending(reader int, ms []*ps.Message) {
	r.mu.Lock()
	r.pending[reader] = append(r.pending[reader], ms...)
	r.mu.Unlock()
}
