package sim

import (
	"bytes"
	"container/heap"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"zoomwatch/internal/jsonw"
)

// Event types the generator produces.
const (
	evMeetingStarted       = "meeting.started"
	evMeetingEnded         = "meeting.ended"
	evMeetingCreated       = "meeting.created"
	evMeetingUpdated       = "meeting.updated"
	evMeetingDeleted       = "meeting.deleted"
	evJoined               = "meeting.participant_joined"
	evLeft                 = "meeting.participant_left"
	evRecordingStarted     = "recording.started"
	evRecordingStopped     = "recording.stopped"
	evRecordingCompleted   = "recording.completed"
	evTranscriptCompleted  = "recording.transcript_completed"
	evUserCreated          = "user.created"
	defaultAccountID       = "sImAcCt0000000000000A"
	maxConcurrentMeetings  = 10000
	meetingsPerEventPerSec = 1.2
)

// Generator produces a realistic account's activity, deterministic for a given seed, start
// and rate: meetings start and end, people (many with non-ASCII names) join, leave and
// rejoin, some meetings are recorded and their recordings complete minutes after the end,
// and now and then meetings are scheduled, changed or deleted and users created. Each Next
// advances a virtual clock by a random interval averaging 1/rate, so that event_ts follows
// real time when the server paces events in real time.
type Generator struct {
	rng     *rand.Rand
	now     time.Time
	rate    float64
	account string
	queue   []pending // events decided on, not yet returned
	later   timeline  // scheduled moments: meeting ends, recordings becoming ready
	live    []*meeting
	hosts   []*host
	number  int64 // the last meeting number handed out
	userSeq int64 // in-meeting user ids
	buf     []byte
	scale   float64 // multiplies meeting lengths and recording processing times
}

// pending is an event decided on (kind is its type) or, in the timeline, a moment to act.
type pending struct {
	kind     string
	m        *meeting
	p        *person
	h        *host
	oldTopic string // meeting.updated
	reason   string // meeting.participant_left
	at       time.Time
}

type meeting struct {
	num       int64
	numText   string
	uuid      string
	topic     string
	host      *host
	start     time.Time
	end       time.Time
	typ       int64
	timezone  string
	duration  int64 // scheduled minutes
	password  string
	present   []*person
	gone      []*person // left, may rejoin
	capacity  int
	liveIndex int
	recording bool
	recStart  time.Time
}

type person struct {
	name, email, id, uuid string
	userID                string // Zoom gives a new in-meeting user_id on every join
}

type host struct {
	id, first, last, email string
	announced              bool
}

func (h *host) name() string { return h.first + " " + h.last }

// NewGenerator returns a generator whose virtual clock starts at start.
func NewGenerator(seed int64, start time.Time, rate float64) *Generator {
	g := &Generator{
		rng:     rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		now:     start.UTC(),
		account: defaultAccountID,
		number:  81234500000,
		scale:   1,
	}
	g.setRate(rate)
	for _, n := range hostNames {
		g.hosts = append(g.hosts, g.newHost(n[0], n[1]))
	}
	return g
}

// SetTimeScale makes meetings and recording processing last f times as long (f < 1:
// faster). The demo uses 0.25 so that a newcomer sees recordings become ready within a
// minute or two.
func (g *Generator) SetTimeScale(f float64) {
	if f > 0 && !math.IsInf(f, 0) {
		g.scale = f
	}
}

func (g *Generator) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * g.scale) }

func (g *Generator) setRate(rate float64) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		rate = defaultRate
	}
	g.rate = rate
}

// Next returns the next event (compact JSON, webhook body shape) and its time (event_ts).
func (g *Generator) Next() (raw []byte, at time.Time) {
	g.now = g.now.Add(time.Duration(g.rng.ExpFloat64() / g.rate * float64(time.Second)))
	for len(g.queue) == 0 {
		if len(g.later) > 0 && !g.later[0].at.After(g.now) {
			g.due(heap.Pop(&g.later).(pending))
			continue
		}
		g.act()
	}
	p := g.queue[0]
	g.queue = g.queue[1:]
	return g.render(p), g.now.Truncate(time.Millisecond)
}

// targetMeetings scales concurrency with the rate so that each meeting sees about one event
// a second: a faster account has more meetings at once rather than absurd churn.
func (g *Generator) targetMeetings() int {
	return int(math.Min(math.Max(g.rate*meetingsPerEventPerSec, 3), maxConcurrentMeetings))
}

// act decides what happens next in the account.
func (g *Generator) act() {
	r := g.rng.Float64()
	switch {
	case len(g.live) == 0 || (len(g.live) < g.targetMeetings() && r < 0.25):
		g.startMeeting()
	case r < 0.004:
		g.emit(pending{kind: evMeetingCreated, m: g.newMeeting(g.pickHost(), g.scheduledStart())})
	case r < 0.007:
		g.updateMeeting()
	case r < 0.009:
		g.emit(pending{kind: evMeetingDeleted, m: g.newMeeting(g.pickHost(), g.scheduledStart())})
	case r < 0.011:
		g.emit(pending{kind: evUserCreated, h: g.newHost(g.personName())})
	case r < 0.03:
		g.startRecording(g.pick())
	case r < 0.64:
		g.joinSomeone(g.pick())
	default:
		g.leaveSomeone(g.pick())
	}
}

func (g *Generator) emit(p pending) { g.queue = append(g.queue, p) }

// pick chooses a live meeting; act makes sure there is one.
func (g *Generator) pick() *meeting { return g.live[g.rng.IntN(len(g.live))] }

// pickHost chooses who hosts a meeting. The pool of hosts grows with the number of
// concurrent meetings; a host is announced with user.created before their first meeting so
// that a monitor can resolve host_id to a name.
func (g *Generator) pickHost() *host {
	i := g.rng.IntN(max(len(hostNames), g.targetMeetings()*3/2))
	if i >= len(g.hosts) {
		i = len(g.hosts)
		g.hosts = append(g.hosts, g.newHost(g.personName()))
	}
	h := g.hosts[i]
	if !h.announced {
		h.announced = true
		g.emit(pending{kind: evUserCreated, h: h})
	}
	return h
}

func (g *Generator) newHost(first, last string) *host {
	return &host{id: zoomID(g.rng), first: first, last: last,
		email: asciiOnly(first) + "." + asciiOnly(last) + strconv.Itoa(len(g.hosts)) + "@example.com"}
}

// newMeeting makes a meeting with a fresh number; it is not live until startMeeting adds it.
func (g *Generator) newMeeting(h *host, start time.Time) *meeting {
	g.number += int64(g.rng.IntN(9_000_000)) + 1
	m := &meeting{num: g.number, numText: strconv.FormatInt(g.number, 10), uuid: meetingUUID(g.rng),
		topic: topics[g.rng.IntN(len(topics))], host: h, start: start, password: strconv.Itoa(100000 + g.rng.IntN(900000))}
	if g.rng.IntN(4) == 0 {
		m.typ = 1 // instant meetings have no timezone and no scheduled duration
	} else {
		m.typ = []int64{2, 2, 8, 3}[g.rng.IntN(4)]
		m.timezone = timezones[g.rng.IntN(len(timezones))]
		m.duration = []int64{15, 30, 30, 45, 60, 90}[g.rng.IntN(6)]
	}
	return m
}

func (g *Generator) scheduledStart() time.Time {
	return g.now.Add(time.Duration(1+g.rng.IntN(7*48)) * 30 * time.Minute).Truncate(30 * time.Minute)
}

func (g *Generator) startMeeting() {
	m := g.newMeeting(g.pickHost(), g.now)
	m.capacity = 2 + g.rng.IntN(14)
	// Most meetings last a few minutes, so a newcomer sees them come and go; some run longer.
	d := time.Duration(90+g.rng.IntN(270)) * time.Second
	if g.rng.IntN(5) == 0 {
		d = time.Duration(8+g.rng.IntN(17)) * time.Minute
	}
	m.end = g.now.Add(g.scaled(d))
	m.liveIndex = len(g.live)
	g.live = append(g.live, m)
	heap.Push(&g.later, pending{kind: evMeetingEnded, m: m, at: m.end})
	g.emit(pending{kind: evMeetingStarted, m: m})
	if g.rng.IntN(10) != 0 { // the host usually joins their own meeting first
		h := m.host
		g.join(m, &person{name: h.name(), email: h.email, id: h.id, uuid: meetingUUID(g.rng)})
	}
}

func (g *Generator) join(m *meeting, p *person) {
	g.userSeq++
	p.userID = strconv.FormatInt(16778240+g.userSeq, 10)
	m.present = append(m.present, p)
	g.emit(pending{kind: evJoined, m: m, p: p})
}

func (g *Generator) joinSomeone(m *meeting) {
	if len(m.present) >= m.capacity {
		g.leaveSomeone(m)
		return
	}
	// People come back more often the more of them have left, which keeps the cast of a
	// meeting bounded.
	if n := len(m.gone); n > 0 && g.rng.IntN(n+3) >= 3 {
		i := g.rng.IntN(n)
		p := m.gone[i]
		m.gone = append(m.gone[:i], m.gone[i+1:]...)
		g.join(m, p)
		return
	}
	name := g.joinName()
	p := &person{name: name, uuid: meetingUUID(g.rng)}
	if g.rng.IntN(4) != 0 { // signed-in users have a user id and an email; guests neither
		p.id = zoomID(g.rng)
		p.email = asciiOnly(name) + strconv.FormatInt(g.userSeq, 10) + "@example.com"
	}
	g.join(m, p)
}

func (g *Generator) leaveSomeone(m *meeting) {
	if len(m.present) <= 1 { // the first to join (usually the host) stays to the end
		g.joinSomeone(m)
		return
	}
	i := 1 + g.rng.IntN(len(m.present)-1)
	p := m.present[i]
	m.present = append(m.present[:i], m.present[i+1:]...)
	m.gone = append(m.gone, p)
	g.emit(pending{kind: evLeft, m: m, p: p, reason: leaveReasons[g.rng.IntN(len(leaveReasons))]})
}

func (g *Generator) startRecording(m *meeting) {
	if m.recording || len(m.present) < 2 {
		g.joinSomeone(m)
		return
	}
	m.recording, m.recStart = true, g.now
	g.emit(pending{kind: evRecordingStarted, m: m})
}

func (g *Generator) updateMeeting() {
	m := g.pick()
	old := m.topic
	m.topic = topics[g.rng.IntN(len(topics))]
	g.emit(pending{kind: evMeetingUpdated, m: m, oldTopic: old})
}

// due acts on a scheduled moment.
func (g *Generator) due(p pending) {
	m := p.m
	switch p.kind {
	case evMeetingEnded:
		// The host ends it: a recording stops, everyone still there leaves, then the meeting
		// ends; the recording is processed a minute or three later.
		if m.recording {
			g.emit(pending{kind: evRecordingStopped, m: m})
			heap.Push(&g.later, pending{kind: evRecordingCompleted, m: m, at: g.now.Add(g.scaled(time.Duration(60+g.rng.IntN(120)) * time.Second))})
		}
		for i := len(m.present) - 1; i >= 0; i-- {
			g.emit(pending{kind: evLeft, m: m, p: m.present[i], reason: reasonHostEnded})
		}
		m.present, m.gone = nil, nil
		g.emit(pending{kind: evMeetingEnded, m: m})
		last := g.live[len(g.live)-1]
		g.live[m.liveIndex], last.liveIndex = last, m.liveIndex
		g.live = g.live[:len(g.live)-1]
	case evRecordingCompleted:
		g.emit(p)
		if g.rng.IntN(10) < 7 {
			heap.Push(&g.later, pending{kind: evTranscriptCompleted, m: m, at: g.now.Add(g.scaled(time.Duration(20+g.rng.IntN(70)) * time.Second))})
		}
	case evTranscriptCompleted:
		g.emit(p)
	}
}

// render writes an event's JSON in the shapes of Zoom's samples (PROTOCOL.md §4).
func (g *Generator) render(p pending) []byte {
	b := append(g.buf[:0], `{"event":`...)
	b = jsonw.String(b, p.kind)
	b = jsonw.IntField(b, "event_ts", g.now.UnixMilli())
	if p.kind == evRecordingCompleted || p.kind == evTranscriptCompleted {
		b = jsonw.StrField(b, "download_token", jwtLike(g.rng, 96))
	}
	b = append(jsonw.Key(b, "payload"), '{')
	b = jsonw.StrField(b, "account_id", g.account)
	m := p.m
	switch p.kind {
	case evMeetingStarted:
		b = append(jsonw.Key(b, "object"), '{')
		b = meetingFields(b, m, true)
	case evMeetingEnded:
		b = append(jsonw.Key(b, "object"), '{')
		b = meetingFields(b, m, true)
		b = jsonw.TimeField(b, "end_time", g.now)
	case evJoined, evLeft:
		b = append(jsonw.Key(b, "object"), '{')
		b = meetingFields(b, m, true)
		b = g.participant(b, p)
	case evMeetingCreated, evMeetingDeleted:
		b = operator(b, m.host)
		b = jsonw.StrField(b, "operation", "single")
		b = append(jsonw.Key(b, "object"), '{')
		b = meetingFields(b, m, false)
		if p.kind == evMeetingCreated {
			b = jsonw.StrField(b, "join_url", "https://example.com/j/"+m.numText+"?pwd="+token(g.rng, 32))
			b = jsonw.StrField(b, "password", m.password)
			b = append(jsonw.Key(b, "settings"), '{')
			b = jsonw.BoolField(b, "use_pmi", false)
			b = jsonw.StrField(b, "alternative_hosts", "")
			b = jsonw.BoolField(b, "join_before_host", g.rng.IntN(2) == 0)
			b = jsonw.IntField(b, "jbh_time", 0)
			b = append(b, '}')
		}
	case evMeetingUpdated:
		b = operator(b, m.host)
		b = jsonw.StrField(b, "scope", "single")
		b = jsonw.IntField(b, "time_stamp", g.now.UnixMilli()-int64(g.rng.IntN(1000)))
		b = append(jsonw.Key(b, "object"), '{')
		b = append(jsonw.Key(b, "id"), m.numText...)
		b = jsonw.StrField(b, "topic", m.topic)
		b = append(b, '}')
		b = append(jsonw.Key(b, "old_object"), '{')
		b = append(jsonw.Key(b, "id"), m.numText...)
		b = jsonw.StrField(b, "topic", p.oldTopic)
	case evRecordingStarted, evRecordingStopped:
		b = append(jsonw.Key(b, "object"), '{')
		b = recordingFields(b, m, g.account)
		b = append(jsonw.Key(b, "recording_file"), '{')
		b = jsonw.TimeField(b, "recording_start", m.recStart)
		if p.kind == evRecordingStopped {
			b = jsonw.TimeField(b, "recording_end", g.now)
		} else {
			b = jsonw.StrField(b, "recording_end", "")
		}
		b = append(b, '}')
	case evRecordingCompleted:
		b = append(jsonw.Key(b, "object"), '{')
		b = recordingFields(b, m, g.account)
		b = recordingFiles(b, g.rng, m, recordingSet(g.rng, m))
	case evTranscriptCompleted:
		b = append(jsonw.Key(b, "object"), '{')
		b = recordingFields(b, m, g.account)
		b = recordingFiles(b, g.rng, m, []recFile{{"TRANSCRIPT", "VTT", "audio_transcript", int64(2000 + g.rng.IntN(200_000))}})
	case evUserCreated:
		h := p.h
		b = jsonw.StrField(b, "operator", "admin@example.com")
		b = jsonw.StrField(b, "operator_id", g.hosts[0].id)
		b = jsonw.StrField(b, "creation_type", "create")
		b = append(jsonw.Key(b, "object"), '{')
		b = jsonw.StrField(b, "id", h.id)
		b = jsonw.StrField(b, "first_name", h.first)
		b = jsonw.StrField(b, "last_name", h.last)
		b = jsonw.StrField(b, "display_name", h.name())
		b = jsonw.StrField(b, "email", h.email)
		b = jsonw.IntField(b, "type", int64(1+g.rng.IntN(2)))
	}
	b = append(b, "}}}"...)
	g.buf = b
	return bytes.Clone(b)
}

// meetingFields writes what every meeting-shaped object carries. Zoom sends the meeting
// number as a string in meeting.started/ended/participant_* and as a number elsewhere.
func meetingFields(b []byte, m *meeting, idAsString bool) []byte {
	if idAsString {
		b = jsonw.StrField(b, "id", m.numText)
	} else {
		b = append(jsonw.Key(b, "id"), m.numText...)
	}
	b = jsonw.StrField(b, "uuid", m.uuid)
	b = jsonw.StrField(b, "host_id", m.host.id)
	b = jsonw.StrField(b, "topic", m.topic)
	b = jsonw.IntField(b, "type", m.typ)
	b = jsonw.TimeField(b, "start_time", m.start)
	b = jsonw.StrField(b, "timezone", m.timezone)
	return jsonw.IntField(b, "duration", m.duration)
}

func operator(b []byte, h *host) []byte {
	b = jsonw.StrField(b, "operator", h.email)
	return jsonw.StrField(b, "operator_id", h.id)
}

func (g *Generator) participant(b []byte, p pending) []byte {
	pp := p.p
	b = append(jsonw.Key(b, "participant"), '{')
	b = jsonw.StrField(b, "user_id", pp.userID)
	b = jsonw.StrField(b, "user_name", pp.name)
	if pp.id != "" {
		b = jsonw.StrField(b, "id", pp.id)
	}
	b = jsonw.StrField(b, "participant_uuid", pp.uuid)
	if p.kind == evJoined {
		b = jsonw.TimeField(b, "join_time", g.now)
	} else {
		b = jsonw.TimeField(b, "leave_time", g.now)
		b = jsonw.StrField(b, "leave_reason", pp.name+" left the meeting.<br>Reason: "+p.reason)
	}
	b = jsonw.StrField(b, "email", pp.email)
	if pp.id != "" {
		b = jsonw.StrField(b, "participant_user_id", pp.id)
	}
	return append(b, '}')
}

func recordingFields(b []byte, m *meeting, account string) []byte {
	b = meetingFields(b, m, false)
	b = jsonw.StrField(b, "account_id", account)
	b = jsonw.StrField(b, "host_email", m.host.email)
	return jsonw.StrField(b, "password", m.password)
}

type recFile struct {
	fileType, ext, recordingType string
	size                         int64
}

// recordingSet is what a cloud recording of m produces: video, audio, sometimes the chat.
func recordingSet(r *rand.Rand, m *meeting) []recFile {
	minutes := max(1, int64(m.end.Sub(m.recStart)/time.Minute))
	files := []recFile{
		{"MP4", "MP4", "shared_screen_with_speaker_view", minutes * int64(3_000_000+r.IntN(6_000_000))},
		{"M4A", "M4A", "audio_only", minutes * int64(450_000+r.IntN(100_000))},
	}
	if r.IntN(2) == 0 {
		files = append(files, recFile{"CHAT", "TXT", "chat_file", int64(200 + r.IntN(20_000))})
	}
	return files
}

// recordingFiles writes share_url, total_size, recording_count and recording_files.
func recordingFiles(b []byte, r *rand.Rand, m *meeting, files []recFile) []byte {
	var total int64
	for _, f := range files {
		total += f.size
	}
	b = jsonw.StrField(b, "share_url", "https://example.com/rec/share/"+token(r, 40))
	b = jsonw.IntField(b, "total_size", total)
	b = jsonw.IntField(b, "recording_count", int64(len(files)))
	b = append(jsonw.Key(b, "recording_files"), '[')
	for _, f := range files {
		b = recordingFile(b, r, m, f)
	}
	return append(b, ']')
}

func recordingFile(b []byte, r *rand.Rand, m *meeting, f recFile) []byte {
	if b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '{')
	b = jsonw.StrField(b, "id", fileUUID(r))
	b = jsonw.StrField(b, "meeting_id", m.uuid)
	b = jsonw.TimeField(b, "recording_start", m.recStart)
	b = jsonw.TimeField(b, "recording_end", m.end)
	b = jsonw.StrField(b, "file_type", f.fileType)
	b = jsonw.IntField(b, "file_size", f.size)
	b = jsonw.StrField(b, "file_extension", f.ext)
	t := token(r, 48)
	b = jsonw.StrField(b, "play_url", "https://example.com/rec/play/"+t)
	b = jsonw.StrField(b, "download_url", "https://example.com/rec/download/"+t)
	b = jsonw.StrField(b, "status", "completed")
	b = jsonw.StrField(b, "recording_type", f.recordingType)
	return append(b, '}')
}

// oversizeEvent is a valid recording.completed of at least size bytes: a long webinar-style
// meeting with very many per-segment files, the biggest payload Zoom realistically sends.
func oversizeEvent(r *rand.Rand, account string, at time.Time, size int) []byte {
	h := &host{id: zoomID(r), first: "Ada", last: "Lovelace", email: "ada.lovelace0@example.com"}
	m := &meeting{num: 90000000000 + r.Int64N(9_000_000_000), uuid: meetingUUID(r), topic: "All-day summit (segmented recording)",
		host: h, start: at.Add(-9 * time.Hour), end: at.Add(-3 * time.Minute), typ: 2, timezone: "UTC", duration: 480,
		password: "314159", recStart: at.Add(-9 * time.Hour)}
	m.numText = strconv.FormatInt(m.num, 10)
	b := append([]byte(nil), `{"event":"recording.completed"`...)
	b = jsonw.IntField(b, "event_ts", at.UnixMilli())
	b = jsonw.StrField(b, "download_token", jwtLike(r, 96))
	b = append(jsonw.Key(b, "payload"), '{')
	b = jsonw.StrField(b, "account_id", account)
	b = append(jsonw.Key(b, "object"), '{')
	b = recordingFields(b, m, account)
	b = jsonw.StrField(b, "share_url", "https://example.com/rec/share/"+token(r, 40))
	b = append(jsonw.Key(b, "recording_files"), '[')
	kinds := []recFile{{"MP4", "MP4", "shared_screen_with_speaker_view", 0}, {"M4A", "M4A", "audio_only", 0},
		{"TRANSCRIPT", "VTT", "audio_transcript", 0}, {"CHAT", "TXT", "chat_file", 0}}
	var total, count int64
	for len(b) < size {
		f := kinds[count%int64(len(kinds))]
		f.size = int64(1000 + r.IntN(50_000_000))
		total += f.size
		count++
		b = recordingFile(b, r, m, f)
	}
	b = append(b, ']')
	b = jsonw.IntField(b, "total_size", total)
	b = jsonw.IntField(b, "recording_count", count)
	return append(b, "}}}"...)
}

// Identifiers in Zoom's styles.

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func token(r *rand.Rand, n int) string {
	b := make([]byte, n)
	var bits uint64
	for i := range b {
		if i%10 == 0 {
			bits = r.Uint64()
		}
		b[i] = idAlphabet[bits&63]
		bits >>= 6
	}
	return string(b)
}

// zoomID is a user id such as "x1yCzABCDEfg23HiJKl4mN".
func zoomID(r *rand.Rand) string { return token(r, 22) }

// meetingUUID is base64 of 16 random bytes, like "4444AAAiAAAAAiAiAiiAii==": it may
// contain '/' and '+'.
func meetingUUID(r *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		u := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(u >> (8 * j))
		}
	}
	return base64.StdEncoding.EncodeToString(b[:])
}

// fileUUID is an RFC 4122 version-4 UUID, as recording file ids are.
func fileUUID(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12
	lo = lo&^(3<<62) | 2<<62
	var b [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = hi >> (60 - 4*i) & 0xf
		} else {
			nib = lo >> (60 - 4*(i-16)) & 0xf
		}
		b[j] = hex[nib]
		j++
	}
	return string(b[:])
}

// jwtLike looks like Zoom's tokens (base64url JWT, "eyJ…") without being one.
func jwtLike(r *rand.Rand, n int) string {
	return "eyJhbGciOiJIUzUxMiIsInYiOiIyLjAiLCJraWQiOiJzaW0ifQ." + token(r, n) + "." + token(r, 43)
}

// Names: many non-ASCII (accents, CJK, Hangul, emoji) and a few very long ones, because
// those are what break terminal layouts.

func (g *Generator) personName() (first, last string) {
	f := firstNames[g.rng.IntN(len(firstNames))]
	l := lastNames[g.rng.IntN(len(lastNames))]
	return f.s, l.s
}

// joinName is a display name as people type it into Zoom.
func (g *Generator) joinName() string {
	if g.rng.IntN(40) == 0 {
		return longNames[g.rng.IntN(len(longNames))]
	}
	f := firstNames[g.rng.IntN(len(firstNames))]
	l := lastNames[g.rng.IntN(len(lastNames))]
	switch {
	case f.cjk && l.cjk:
		return l.s + f.s
	case f.cjk != l.cjk:
		return f.s
	}
	return f.s + " " + l.s
}

func asciiOnly(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		}
	}
	if len(b) == 0 {
		return "user"
	}
	return string(b)
}

type namePart struct {
	s   string
	cjk bool
}

const reasonHostEnded = "Host ended the meeting."

var (
	firstNames = []namePart{{"Ada", false}, {"Grace", false}, {"Ken", false}, {"José", false}, {"Zoë", false},
		{"Søren", false}, {"Łukasz", false}, {"Ngọc Anh", false}, {"Priya", false}, {"Amara", false}, {"Mateo", false},
		{"Chloé", false}, {"İlkay", false}, {"Olúwaseun", false}, {"Björn", false}, {"Ana Lúcia", false},
		{"芳", true}, {"健", true}, {"美咲", true}, {"민준", true}, {"Fatima", false}, {"Dmitri", false}, {"Aroha", false}}
	lastNames = []namePart{{"Lovelace", false}, {"Hopper", false}, {"Thompson", false}, {"Álvarez", false},
		{"Kierkegaard", false}, {"Nowak", false}, {"Nguyễn", false}, {"Raman 🚀", false}, {"Okafor", false},
		{"García Márquez", false}, {"Dubois", false}, {"Yılmaz", false}, {"Adeyemi", false}, {"Ström", false},
		{"王", true}, {"佐藤", true}, {"김", true}, {"Al-Sayed", false}, {"Ivanov", false}, {"Ngata ✨", false}}
	longNames = []string{"Maximilian Alexander von Hohenzollern-Sigmaringen (Guest, dialled in)",
		"株式会社サンプル 代表取締役社長 山田太郎", "Dr. Anneliese Schwarzenegger-Oberhausen 👩‍⚕️ (on-call)"}
	hostNames = [][2]string{{"Ada", "Lovelace"}, {"Ken", "Thompson"}, {"Grace", "Hopper"}, {"José", "Álvarez"},
		{"美咲", "佐藤"}, {"Søren", "Kierkegaard"}, {"Priya", "Raman"}, {"Amara", "Okafor"}, {"Chloé", "Dubois"},
		{"Björn", "Ström"}, {"민준", "김"}, {"Olúwaseun", "Adeyemi"}}
	topics = []string{"Daily standup", "Incident review", "Board sync", "Sprint planning", "1:1 Ada / Ken",
		"Customer call — Acme GmbH", "設計レビュー", "Revue trimestrielle", "All hands 🎉", "Onboarding: new hires",
		"Quarterly business review with the EMEA leadership team and regional partners", "Design crit",
		"On-call handover", "Recrutement — entretien", "Product demo", "Lunch & learn: Go generics", "Retro ☕",
		`"Quoted" \ backslash review`}
	timezones    = []string{"America/Los_Angeles", "America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Lagos", "Pacific/Auckland"}
	leaveReasons = []string{"left the meeting.", "left the meeting.", "left the meeting.", "Network connection error.",
		"Removed by host.", "Leave the meeting because of the computer went to sleep."}
)

// timeline is a min-heap of scheduled moments; ties go by meeting number, for determinism.
type timeline []pending

func (t timeline) Len() int { return len(t) }
func (t timeline) Less(i, j int) bool {
	if !t[i].at.Equal(t[j].at) {
		return t[i].at.Before(t[j].at)
	}
	if t[i].m.num != t[j].m.num {
		return t[i].m.num < t[j].m.num
	}
	return t[i].kind < t[j].kind
}
func (t timeline) Swap(i, j int) { t[i], t[j] = t[j], t[i] }
func (t *timeline) Push(x any)   { *t = append(*t, x.(pending)) }
func (t *timeline) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}
