package store

import (
	"time"
)

// Batch is what one commit stored, published to subscribers after it is durable.
type Batch struct {
	Records []Record   // new events, in sequence order
	Log     []LogEntry // connection-log entries: transitions, gaps, anomalies, notes
	// LiveChanged says the derived state changed: call Store.Live for the new snapshot.
	LiveChanged bool
	Committed   time.Time
}

// Notice delivers a batch to one subscriber. Missed counts the batches this subscriber was
// too slow to take since its previous notice: it should reload from the store (records
// after the last sequence number it has, and the log).
type Notice struct {
	*Batch
	Missed int
}

// Subscription receives committed batches. A subscriber that falls behind is never waited
// for: its notices are dropped and counted in the next one it gets.
type Subscription struct {
	C      <-chan Notice
	c      chan Notice
	missed int // guarded by Store.subsMu
	s      *Store
}

// Subscribe starts receiving committed batches; buffer is how many notices may queue.
func (s *Store) Subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Notice, buffer)
	sub := &Subscription{C: c, c: c, s: s}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.w == nil || s.w.isClosed() {
		close(c)
		return sub
	}
	s.subs[sub] = struct{}{}
	return sub
}

// Close stops the subscription and releases it; C is closed.
func (sub *Subscription) Close() {
	s := sub.s
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if _, ok := s.subs[sub]; ok {
		delete(s.subs, sub)
		close(sub.c)
	}
}

// Subscribers counts the open subscriptions (leak checks).
func (s *Store) Subscribers() int {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	return len(s.subs)
}

func (s *Store) publish(b *Batch) {
	if len(b.Records) == 0 && len(b.Log) == 0 && !b.LiveChanged {
		return
	}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.c <- Notice{Batch: b, Missed: sub.missed}:
			sub.missed = 0
		default:
			sub.missed++
		}
	}
}
