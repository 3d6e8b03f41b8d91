package sshserve

import (
	"time"
)

// statusGaps is how many recent closed gaps status lists.
const statusGaps = 5

// status is what `ssh HOST status` prints: one JSON object. Every field is always present
// (null when unknown) so that scripts can rely on the names:
//
//	account             Zoom account ID being watched ("" if not configured)
//	state               connection state: connecting, live, backoff, replaced, auth-failed,
//	                    stopped; "none" when this process has no Zoom connection
//	reason              why the connection is in that state ("" when live)
//	since               when it entered that state
//	heartbeats_sent     heartbeats sent to Zoom since start
//	heartbeats_acked    heartbeats Zoom acknowledged
//	last_heartbeat_ack  time of the newest acknowledgement
//	last_event          receive time of the newest event
//	lag_median_ms       receive time minus event_ts over recent events, median (ms)
//	lag_max_ms          the same, maximum (ms)
//	reconnects          times the link went live again after having been live
//	bad_frames          frames that were not usable events (kept as anomalies)
//	token_expiry        expiry of the current access token
//	events_stored       events in the database
//	duplicates          redelivered events recognised and stored once
//	storing             whether events are being committed to disk right now
//	store_error         why not, when storing is false ("" otherwise)
//	backlog             events waiting in memory for the disk
//	open_gap            the blind spot going on now ({from, to: null, reason, dropped}), or null
//	gaps_total          closed gaps recorded
//	recent_gaps         the newest closed gaps, newest first (at most 5)
//	viewers             SSH sessions watching the monitor now
//	sessions            SSH sessions open now (viewers, exports, this status)
type status struct {
	Account          string     `json:"account"`
	State            string     `json:"state"`
	Reason           string     `json:"reason"`
	Since            *time.Time `json:"since"`
	HeartbeatsSent   uint64     `json:"heartbeats_sent"`
	HeartbeatsAcked  uint64     `json:"heartbeats_acked"`
	LastHeartbeatAck *time.Time `json:"last_heartbeat_ack"`
	LastEvent        *time.Time `json:"last_event"`
	LagMedianMS      float64    `json:"lag_median_ms"`
	LagMaxMS         float64    `json:"lag_max_ms"`
	Reconnects       uint64     `json:"reconnects"`
	BadFrames        uint64     `json:"bad_frames"`
	TokenExpiry      *time.Time `json:"token_expiry"`
	EventsStored     uint64     `json:"events_stored"`
	EventsPruned     uint64     `json:"events_pruned"` // by --retain / --max-db-size
	Duplicates       uint64     `json:"duplicates"`
	Storing          bool       `json:"storing"`
	StoreError       string     `json:"store_error"`
	Backlog          int        `json:"backlog"`
	OpenGap          *gapJSON   `json:"open_gap"`
	GapsTotal        int        `json:"gaps_total"`
	RecentGaps       []gapJSON  `json:"recent_gaps"`
	Viewers          int        `json:"viewers"`
	Sessions         int        `json:"sessions"`
}

type gapJSON struct {
	From    time.Time  `json:"from"`
	To      *time.Time `json:"to"`
	Reason  string     `json:"reason"`
	Dropped uint64     `json:"dropped"`
}

func (s *Server) status() status {
	st := s.cfg.Store
	h := st.Health()
	out := status{
		Account: s.cfg.Account, State: "none",
		EventsStored: h.Counts.Stored(), EventsPruned: h.Counts.Pruned, Duplicates: h.Counts.Duplicates,
		Storing: h.Storing, StoreError: h.Err, Backlog: h.Backlog,
		GapsTotal: st.GapCount(), RecentGaps: []gapJSON{},
	}
	if s.cfg.Status != nil {
		f := s.cfg.Status()
		out.State, out.Reason, out.Since = string(f.Current.State), f.Current.Reason, when(f.Current.At)
		out.HeartbeatsSent, out.HeartbeatsAcked = f.HeartbeatsSent, f.HeartbeatsAcked
		out.LastHeartbeatAck, out.LastEvent = when(f.LastHeartbeatAck), when(f.LastEvent)
		out.LagMedianMS, out.LagMaxMS = millis(f.LagMedian), millis(f.LagMax)
		out.Reconnects, out.BadFrames, out.TokenExpiry = f.Reconnects, f.BadFrames, when(f.TokenExpiry)
	}
	gaps, _ := st.Gaps(statusGaps + 1) // led by the open gap, if any
	for _, g := range gaps {
		j := gapJSON{From: g.From.UTC(), To: when(g.To), Reason: g.Reason, Dropped: g.Dropped}
		if g.Open() {
			out.OpenGap = &j
		} else if len(out.RecentGaps) < statusGaps {
			out.RecentGaps = append(out.RecentGaps, j)
		}
	}
	out.Viewers, out.Sessions = s.counts()
	return out
}

// when is t in UTC, or nil (JSON null) when it is zero.
func when(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
