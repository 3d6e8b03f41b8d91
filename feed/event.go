// Package feed is the Zoom WebSocket event-subscription client: frame and event decoding, the
// connection state machine, heartbeats, liveness and reconnects. It knows nothing of storage or
// screens; it hands out Items (events, anomalies and state transitions) in arrival order.
package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	fastjson "github.com/segmentio/encoding/json"

	"zoomwatch/internal/numfmt"
)

// Modules Zoom uses in the frame envelope (PROTOCOL.md §1.2).
const (
	ModuleBuildConnection = "build_connection"
	ModuleHeartbeat       = "heartbeat"
	ModuleMessage         = "message"
)

// Frame is one server-to-client WebSocket frame: {"module","success","content","header"}.
type Frame struct {
	Module string
	// Success is true only for "success":true; Failed only for "success":false. Frames may
	// omit the key (message frames need not carry it), which is neither.
	Success, Failed bool
	// Content is the content value as text: the unquoted string when Zoom sent a JSON string
	// (always so far), or the raw JSON when it sent an object or anything else.
	Content []byte
	// ContentIsString tells which of the two Content came from.
	ContentIsString bool
	Header          json.RawMessage
}

type wireFrame struct {
	Module  string          `json:"module"`
	Success *bool           `json:"success"`
	Content json.RawMessage `json:"content"`
	Header  json.RawMessage `json:"header"`
}

// unmarshal is json.Unmarshal, about twice as fast: segmentio/encoding decodes exactly as
// encoding/json does whenever it succeeds (FuzzDecodeEvent and FuzzDecodeFrame hold it to
// that). When it fails, v is reset and encoding/json decodes again, for its partial result
// and error types, which the callers rely on.
func unmarshal(b []byte, v any) error {
	if fastUnmarshal(b, v) {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero()
	return json.Unmarshal(b, v)
}

// fastUnmarshal reports whether segmentio/encoding decoded b into v; a panic in it (it uses
// unsafe) counts as a failure rather than ending the monitor. Input nested deeper than
// encoding/json takes is left to encoding/json, which refuses it: segmentio/encoding recurses
// once per level without a limit, and a 4 MB frame of brackets overflowed the stack, which
// no recover survives.
func fastUnmarshal(b []byte, v any) (ok bool) {
	if nestedDeeperThan(b, maxNesting) {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return fastjson.Unmarshal(b, v) == nil
}

// maxNesting is encoding/json's limit on nesting.
const maxNesting = 10000

// nestedDeeperThan reports whether the JSON text b opens more than limit arrays and objects
// inside each other. Each level takes two bytes, so shorter input is not scanned.
func nestedDeeperThan(b []byte, limit int) bool {
	if len(b) <= 2*limit {
		return false
	}
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

// ErrNotJSON marks a frame or event that is not valid JSON.
var ErrNotJSON = errors.New("not valid JSON")

// DecodeFrame parses a frame envelope. A frame that is valid JSON but not an object with a
// module is an error too: the caller keeps it as an anomaly.
func DecodeFrame(b []byte) (Frame, error) {
	if f, ok := scanFrame(b); ok {
		return f, nil
	}
	// Zoom's content is a string: decoding it as one unquotes it in the same pass.
	var ws wireStringFrame
	if fastUnmarshal(b, &ws) && ws.Module != "" && ws.Content != nil {
		f := Frame{Module: ws.Module, Header: ws.Header, Content: []byte(*ws.Content), ContentIsString: true}
		if ws.Success != nil {
			f.Success, f.Failed = *ws.Success, !*ws.Success
		}
		return f, nil
	}
	return decodeFrame(b)
}

// wireStringFrame is a frame whose content is a string, as Zoom sends them.
type wireStringFrame struct {
	Module  string          `json:"module"`
	Success *bool           `json:"success"`
	Content *string         `json:"content"`
	Header  json.RawMessage `json:"header"`
}

// decodeFrame decodes any frame: content of any type, bad frames with encoding/json's errors.
func decodeFrame(b []byte) (Frame, error) {
	var w wireFrame
	if err := unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Frame{}, fmt.Errorf("frame: not an envelope: %v", err)
		}
		return Frame{}, fmt.Errorf("frame: %w: %v", ErrNotJSON, err)
	}
	if w.Module == "" {
		return Frame{}, errors.New("frame: no module")
	}
	f := Frame{Module: w.Module, Header: w.Header}
	if w.Success != nil {
		f.Success, f.Failed = *w.Success, !*w.Success
	}
	c := bytes.TrimSpace(w.Content)
	switch {
	case len(c) == 0 || bytes.Equal(c, []byte("null")):
	case c[0] == '"':
		var s string
		if err := unmarshal(c, &s); err != nil {
			return Frame{}, fmt.Errorf("frame: content: %v", err)
		}
		f.Content, f.ContentIsString = []byte(s), true
	default:
		f.Content = c
	}
	// Message content is a fresh allocation above; the object case aliases b, so copy it to
	// keep Event.Raw independent of the caller's read buffer.
	if !f.ContentIsString && f.Content != nil {
		f.Content = bytes.Clone(f.Content)
	}
	return f, nil
}

// ID is a Zoom identifier that is a JSON string in some events and a number in others
// (meeting ids, PROTOCOL.md §4.2). It is kept as its decimal or string text.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*id = ""
	case b[0] == '"':
		if s, ok := plainQuoted(b); ok {
			*id = ID(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
	case b[0] == '{' || b[0] == '[':
		// Anything stranger is kept as its JSON rather than failing the whole event,
		// compacted so that formatting does not change an Identity.
		var buf bytes.Buffer
		if json.Compact(&buf, b) == nil {
			b = buf.Bytes()
		}
		*id = ID(b)
	default:
		*id = ID(b) // a number (or a bool) keeps its text
	}
	return nil
}

// plainQuoted returns the text of a JSON string that holds nothing to unquote (no escape,
// no control character, valid UTF-8), as Zoom's ids do, without a decoder.
func plainQuoted(b []byte) (string, bool) {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if !plainByte[c] {
			return "", false
		}
	}
	return string(in), utf8.Valid(in)
}

// Flex is a scalar that Zoom may send as a string, a number or null; it keeps the text.
type Flex = ID

// Event is one Zoom event (the webhook body shape) with the fields zoomwatch uses decoded and
// the bytes kept exactly as delivered.
type Event struct {
	Raw []byte `json:"-"`

	Type          string `json:"event"`
	TS            Millis `json:"event_ts"`
	DownloadToken string `json:"download_token,omitempty"`
	Payload       struct {
		AccountID  string `json:"account_id"`
		Operator   string `json:"operator,omitempty"`
		OperatorID string `json:"operator_id,omitempty"`
		Object     Object `json:"object"`
	} `json:"payload"`
}

// Object is payload.object: a meeting, a recording or a user depending on the event.
type Object struct {
	ID        ID     `json:"id"`
	UUID      string `json:"uuid"`
	HostID    string `json:"host_id"`
	HostEmail string `json:"host_email"`
	Topic     string `json:"topic"`
	Type      Flex   `json:"type"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	Duration  Flex   `json:"duration"`
	Timezone  string `json:"timezone"`

	Participant *Participant `json:"participant,omitempty"`

	TotalSize             Flex            `json:"total_size"`
	RecordingFiles        []RecordingFile `json:"recording_files,omitempty"`
	ParticipantAudioFiles []RecordingFile `json:"participant_audio_files,omitempty"`

	// user.* events
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	DisplayName string `json:"display_name"`
}

// Participant is payload.object.participant of join/leave events.
type Participant struct {
	UserID            ID     `json:"user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	ParticipantUUID   string `json:"participant_uuid"`
	ParticipantUserID string `json:"participant_user_id"`
	Email             string `json:"email"`
	JoinTime          string `json:"join_time"`
	LeaveTime         string `json:"leave_time"`
	LeaveReason       string `json:"leave_reason"`
}

// RecordingFile is one entry of recording_files / participant_audio_files.
type RecordingFile struct {
	ID             string `json:"id"`
	MeetingID      string `json:"meeting_id"`
	RecordingStart string `json:"recording_start"`
	RecordingEnd   string `json:"recording_end"`
	RecordingType  string `json:"recording_type"`
	FileType       string `json:"file_type"`
	FileExtension  string `json:"file_extension"`
	FileName       string `json:"file_name"`
	FileSize       Flex   `json:"file_size"`
	Status         string `json:"status"`
}

// Millis is event_ts: milliseconds since the epoch. It tolerates a quoted number, a fraction,
// and seconds from a sender that used them; anything else reads as 0 (unknown).
type Millis int64

func (m *Millis) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || !(f >= 0 && f <= 1e16): // also NaN
		*m = 0
	case f < 1e11: // seconds, not milliseconds
		*m = Millis(f * 1000)
	default:
		*m = Millis(f)
	}
	return nil
}

// DecodeEvent parses an event object. raw is kept (not copied) as Event.Raw, so the caller
// must not reuse it. Unknown event types and fields of unexpected types decode fine; only
// bytes that are not a JSON object with a string "event" are errors.
func DecodeEvent(raw []byte) (*Event, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		if json.Valid(t) {
			return nil, errors.New("event: not a JSON object")
		}
		return nil, fmt.Errorf("event: %w", ErrNotJSON)
	}
	ev := &Event{}
	err := unmarshal(raw, ev)
	ev.Raw = raw
	if err != nil {
		// encoding/json fills what it can and reports the first field of the wrong type:
		// keep such an event, as delivered, rather than lose it.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("event: %w: %v", ErrNotJSON, err)
		}
	}
	if ev.Type == "" {
		return nil, errors.New(`event: no "event" field`)
	}
	return ev, nil
}

// MaxNameLen bounds the names an event is filed under (its type, its meeting's, its
// people's): the store keys records by them, and bbolt refuses keys over 32 KiB, which
// stopped every commit behind such an event. Zoom's own are tens of bytes.
const MaxNameLen = 1024

// CheckNames refuses an event whose names the store could not file it under: too long, or
// a meeting named with a NUL byte (which separates a meeting from its people in keys, and a
// meeting number from its time in an occurrence's mapping).
// Events arriving (the feed, import) are checked; stored ones are not, so that reading them
// never depends on it.
func (e *Event) CheckNames() error {
	o := &e.Payload.Object
	type name struct{ field, v string }
	names := [6]name{{"event", e.Type}, {"payload.object.uuid", o.UUID},
		{"payload.object.id", string(o.ID)}, {"payload.object.host_id", o.HostID}}
	if p := o.Participant; p != nil {
		names[4] = name{"the participant's id or name", e.ParticipantKey()}
		names[5] = name{"payload.object.participant.user_id", string(p.UserID)}
	}
	for _, n := range names {
		if len(n.v) > MaxNameLen {
			return fmt.Errorf("event: %s is %s long, more than any Zoom name (at most %s): not an event zoomwatch can file", n.field, numfmt.Plural(len(n.v), "byte"), numfmt.Thousands(MaxNameLen))
		}
	}
	if o := &e.Payload.Object; strings.IndexByte(o.UUID, 0) >= 0 || strings.IndexByte(string(o.ID), 0) >= 0 {
		return errors.New("event: its meeting's uuid or id holds a NUL byte: not an event zoomwatch can file")
	}
	return nil
}

// Time is event_ts as a time; zero when the event carried none.
func (e *Event) Time() time.Time {
	if e.TS == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(e.TS))
}

// MeetingKey names the meeting an event is about: its uuid (one occurrence) when present,
// else its numeric id. Empty for events that are not about a meeting.
func (e *Event) MeetingKey() string {
	if !e.IsMeetingLike() {
		return ""
	}
	o := &e.Payload.Object
	if o.UUID != "" {
		return o.UUID
	}
	return string(o.ID)
}

// IsMeetingLike reports whether payload.object describes a meeting or webinar (and so its id
// is a meeting number), rather than a user or something unknown.
func (e *Event) IsMeetingLike() bool {
	p, _, _ := strings.Cut(e.Type, ".")
	switch p {
	case "meeting", "recording", "webinar":
		return true
	}
	return false
}

// ParticipantKey identifies a participant within a meeting: participant_uuid, else user_id,
// else id. Empty when the event has no participant.
func (e *Event) ParticipantKey() string {
	p := e.Payload.Object.Participant
	if p == nil {
		return ""
	}
	switch {
	case p.ParticipantUUID != "":
		return p.ParticipantUUID
	case p.UserID != "":
		return string(p.UserID)
	case p.ID != "":
		return p.ID
	}
	return p.UserName
}

// Who is the person an event is about, for one-line displays: the participant's name, or the
// user's display name for user events, or the operator.
func (e *Event) Who() string {
	o := &e.Payload.Object
	if p := o.Participant; p != nil {
		if p.UserName != "" {
			return p.UserName
		}
		if p.Email != "" {
			return p.Email
		}
		return string(p.UserID)
	}
	if strings.HasPrefix(e.Type, "user.") {
		return o.UserName()
	}
	return e.Payload.Operator
}

// UserName is a user object's name from its parts.
func (o *Object) UserName() string {
	switch {
	case o.DisplayName != "":
		return o.DisplayName
	case o.FirstName != "" || o.LastName != "":
		return strings.TrimSpace(o.FirstName + " " + o.LastName)
	case o.Email != "":
		return o.Email
	}
	return string(o.ID)
}

// Identity is the dedupe key of an event: the same event type, event_ts and subject make the
// same identity, whatever the bytes around them (a webhook retry and its WebSocket twin, an
// export imported twice). The first 8 bytes are event_ts big-endian, so keys of recent events
// sort together.
type Identity [16]byte

// Identity computes the dedupe key. The subject is the meeting (uuid and id), the participant
// and the recording files; events with none of these (unknown shapes) fall back to the whole
// payload, so that distinct unknown events are never merged. Events without a usable
// event_ts add the whole event (see canonicalJSON).
func (e *Event) Identity() Identity {
	h := sha256.New()
	o := &e.Payload.Object
	// The subject's fields, each followed by a zero byte. These bytes must never change:
	// stored dedupe keys are made of them.
	var buf [256]byte
	b := append(append(buf[:0], e.Type...), 0)
	b = append(strconv.AppendInt(b, int64(e.TS), 10), 0)
	b = append(append(b, o.UUID...), 0)
	b = append(append(b, o.ID...), 0)
	b = append(append(b, e.ParticipantKey()...), 0)
	if p := o.Participant; p != nil {
		b = append(append(b, p.JoinTime...), 0)
		b = append(append(b, p.LeaveTime...), 0)
	}
	h.Write(b)
	files := make([]string, 0, len(o.RecordingFiles))
	for _, f := range o.RecordingFiles {
		files = append(files, f.ID)
	}
	sort.Strings(files)
	for _, f := range files {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	switch {
	case e.TS == 0:
		// Without event_ts (missing, or a value no sender writes), type and subject can name
		// several events: two updates of one meeting, two events alike but for that field.
		// Only the same event again, however formatted, is one. Such events stored before
		// this rule have keys without these bytes: imported again, they are stored twice.
		h.Write(canonicalJSON(e.Raw))
	case o.UUID == "" && o.ID == "" && e.ParticipantKey() == "" && len(files) == 0:
		h.Write(payloadBytes(e.Raw))
	}
	var id Identity
	binary.BigEndian.PutUint64(id[:8], uint64(e.TS))
	var sum [sha256.Size]byte
	copy(id[8:], h.Sum(sum[:0]))
	return id
}

// canonicalJSON is raw with its objects' keys sorted, compacted, numbers as written: the
// same for any formatting or key order of the same JSON.
func canonicalJSON(raw []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

// payloadBytes returns the raw "payload" value (the whole event if it has none), compacted
// so that formatting does not matter.
func payloadBytes(raw []byte) []byte {
	var m struct {
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(raw, &m) == nil && len(m.Payload) > 0 {
		raw = m.Payload
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// Line returns the event as one line of JSON (see OneLine).
func (e *Event) Line() []byte { return OneLine(e.Raw) }

// OneLine returns raw event bytes as one line of JSON: exactly as delivered, or, when they
// span several lines (a pretty-printed webhook archive), the same JSON compacted.
func OneLine(raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r"), nil), []byte("\n"), []byte(" "))
	}
	return buf.Bytes()
}

// Summary is a one-line human description: "participant_joined Ada Lovelace → Daily standup".
func (e *Event) Summary() string {
	o := &e.Payload.Object
	var b strings.Builder
	b.WriteString(e.Type)
	sep := "  "
	if who := e.Who(); who != "" {
		b.WriteString(sep)
		b.WriteString(who)
		sep = "  · " // who, then where
	}
	if o.Topic != "" && e.IsMeetingLike() {
		b.WriteString(sep)
		b.WriteString(o.Topic)
	} else if k := e.MeetingKey(); k != "" {
		b.WriteString(sep)
		b.WriteString("meeting ")
		b.WriteString(k)
	}
	if p := o.Participant; p != nil && p.LeaveReason != "" {
		b.WriteString("  (")
		b.WriteString(CleanReason(p.LeaveReason))
		b.WriteString(")")
	}
	return b.String()
}

// CleanReason turns Zoom's leave_reason ("Jill left the meeting.<br>Reason: Host ended the
// meeting.") into its reason part.
func CleanReason(s string) string {
	s = strings.ReplaceAll(s, "<br>", " ")
	if i := lastIndexFold(s, "reason"); i >= 0 {
		r := strings.TrimLeft(s[i+len("reason"):], " :")
		if r != "" {
			s = r
		}
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// lastIndexFold is strings.LastIndex ignoring ASCII case, with offsets into s itself
// (lower-casing first would shift them: "İ" is shorter lower-cased).
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// Sanitize makes arbitrary bytes safe to show on a terminal: invalid UTF-8 and control
// characters become U+FFFD, so a hostile payload cannot move the cursor or change colours.
// Bidirectional overrides, embeddings and isolates are dropped: a name holding U+202E
// would show the rest of its line reversed, a participant's name posing as another's.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case bidiControl(r):
		case r == '\t' || r == '\n':
			b.WriteByte(' ')
		case unsafeRune(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || r < 0x20 || (r >= 0x7f && r < 0xa0) || bidiControl(r)
}

// bidiControl: U+202A–U+202E and U+2066–U+2069. (The marks U+200E/U+200F only nudge
// neutral characters, and right-to-left names use them.)
func bidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
