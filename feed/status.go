package feed

import (
	"time"
)

// State is the connection state (DESIGN.md "Connection state machine").
type State string

const (
	StateConnecting State = "connecting"
	StateLive       State = "live"
	StateBackoff    State = "backoff"
	StateReplaced   State = "replaced"    // another consumer took the subscription
	StateAuthFailed State = "auth-failed" // the token endpoint rejected the credentials
	StateStopped    State = "stopped"
)

// Transition is one change of state, as persisted in the connection log.
type Transition struct {
	State  State     `json:"state"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	// Attempt counts connection attempts since the link was last live (1 = first try).
	Attempt int `json:"attempt,omitempty"`
	// NextRetry is when the next attempt is due (backoff, replaced, auth-failed).
	NextRetry time.Time `json:"next_retry,omitzero"`
	// SilentSince is when a live link that ended by silence last received anything:
	// reception stopped then, not when the silence was noticed (At).
	SilentSince time.Time `json:"silent_since,omitzero"`
}

// Receiving reports whether events can arrive in this state.
func (t Transition) Receiving() bool { return t.State == StateLive }

// Anomaly is a frame that was not a usable event: not JSON, a message whose content is not
// an event, or a module zoomwatch does not know. It is kept for inspection, never dropped.
type Anomaly struct {
	Kind  string `json:"kind"` // AnomalyBadFrame, AnomalyBadEvent, AnomalyUnknownModule
	Error string `json:"error,omitempty"`
	// Data holds the frame's bytes, cut to MaxAnomalyBytes.
	Data      []byte `json:"data"`
	Size      int    `json:"size"` // the frame's full size
	Truncated bool   `json:"truncated,omitempty"`
}

const (
	AnomalyBadFrame      = "bad-frame"      // not JSON, or not an envelope
	AnomalyBadEvent      = "bad-event"      // a message whose content is not an event
	AnomalyUnknownModule = "unknown-module" // a well-formed frame of a module we do not handle
)

// MaxAnomalyBytes bounds what is kept of one anomalous frame.
const MaxAnomalyBytes = 64 << 10

// NewAnomaly builds an anomaly, keeping at most MaxAnomalyBytes of data (copied).
func NewAnomaly(kind string, err error, data []byte) *Anomaly {
	a := &Anomaly{Kind: kind, Size: len(data)}
	if err != nil {
		a.Error = err.Error()
	}
	if len(data) > MaxAnomalyBytes {
		data, a.Truncated = data[:MaxAnomalyBytes], true
	}
	a.Data = append([]byte(nil), data...)
	return a
}

// Item is what the client hands out, in arrival order: exactly one of Event, Anomaly and
// Transition is set. Received is when zoomwatch read it (for transitions, when they happened).
type Item struct {
	Received   time.Time
	Event      *Event
	Anomaly    *Anomaly
	Transition *Transition
	// SentAt is the simulator's send timestamp from the frame header, when present (bench).
	SentAt time.Time
}

// Stats are the live counters of a client, safe to read at any time via Client.Stats.
type Stats struct {
	Current          Transition
	Frames           uint64 // frames read, all modules
	Events           uint64 // message frames decoded into events
	BadFrames        uint64 // anomalies of any kind
	HeartbeatsSent   uint64
	HeartbeatsAcked  uint64
	Reconnects       uint64 // times the link went live again after having been live
	LastFrame        time.Time
	LastEvent        time.Time // receive time of the newest event
	LastHeartbeatAck time.Time
	LiveSince        time.Time // when the current live period began; zero when not live
	TokenExpiry      time.Time
	// Lag is receive time minus event_ts over recent events.
	LagLast, LagMedian, LagMax time.Duration
	LagSamples                 int
	Heartbeat                  time.Duration // the configured heartbeat period
}
