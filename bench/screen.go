package bench

import (
	"reflect"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"zoomwatch/feed"
	"zoomwatch/store"
	"zoomwatch/tui"
)

// screen runs a live TUI model the way Bubble Tea's event loop does — every message goes
// through Update and then View; commands run in their own goroutines — without a terminal,
// and reports when the events of each committed batch were first drawn. A terminal adds the
// renderer's frame pacing (up to 1/60 s) and the write on top.
type screen struct {
	model tea.Model
	msgs  chan tea.Msg
	done  chan struct{}
	wg    sync.WaitGroup
	drew  func(at time.Time, sent []time.Time)

	// feed is the model's subscription. Under mu, len(pushed) - len(feed) is exactly how
	// many of the pushed notices the model has taken.
	feed   chan store.Notice
	mu     sync.Mutex
	pushed [][]time.Time // send stamps of each pushed notice not yet drawn, oldest first
	missed int           // notices dropped because feed was full, as the store counts them
	closed bool
}

// feedBuffer is deep enough that only a model minutes behind would lose notices.
const feedBuffer = 1 << 16

// newScreen builds the model over st; drew is called, on the screen's goroutine, with each
// View's time and the send stamps of the events of each batch it drew for the first time.
func newScreen(st *store.Store, status func() feed.Stats, drew func(at time.Time, sent []time.Time)) (*screen, error) {
	s := &screen{msgs: make(chan tea.Msg, 256), done: make(chan struct{}), feed: make(chan store.Notice, feedBuffer), drew: drew}
	m, err := tui.New(tui.Deps{Store: st, Sub: &store.Subscription{C: s.feed}, Status: status, Account: "bench", Mode: tui.ModeLive})
	if err != nil {
		return nil, err
	}
	s.model = m
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// show hands a committed batch to the model, never blocking: like the store's own
// publishing, a notice that does not fit is dropped and counted in the next one.
func (s *screen) show(n store.Notice, sent []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	n.Missed += s.missed
	select {
	case s.feed <- n:
		s.pushed = append(s.pushed, sent)
		s.missed = 0
	default:
		s.missed++
	}
}

// close stops the model and ends its subscription, as a closing store does. Commands still
// running (the clock sleeps for a second) finish on their own and drop their message.
func (s *screen) close() {
	s.mu.Lock()
	s.closed = true
	close(s.feed)
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
}

func (s *screen) loop() {
	defer s.wg.Done()
	s.update(tea.WindowSizeMsg{Width: 120, Height: 40})
	s.exec(s.model.Init())
	for {
		select {
		case msg := <-s.msgs:
			if b, ok := msg.(tea.BatchMsg); ok {
				for _, c := range b {
					s.exec(c)
				}
				continue
			}
			s.update(msg)
		case <-s.done:
			return
		}
	}
}

// feedMsgType is the tui's message carrying committed batches. The screen needs to know it:
// the notices taken by the command that produced it are drawn by the View that follows it,
// while a View for any other message may come while that command is still taking them.
var feedMsgType = struct{ pkg, name string }{"zoomwatch/tui", "feedMsg"}

func isFeedMsg(msg tea.Msg) bool {
	t := reflect.TypeOf(msg)
	return t != nil && t.PkgPath() == feedMsgType.pkg && t.Name() == feedMsgType.name
}

// update is one turn of the event loop: Update, View, then start the returned command (so
// no command that takes notices runs while they are counted).
func (s *screen) update(msg tea.Msg) {
	m, cmd := s.model.Update(msg)
	s.model = m
	_ = m.View()
	if isFeedMsg(msg) {
		at := time.Now()
		s.mu.Lock()
		k := len(s.pushed) - len(s.feed)
		drawn := s.pushed[:k]
		s.pushed = s.pushed[k:]
		s.mu.Unlock()
		for _, sent := range drawn {
			s.drew(at, sent)
		}
	}
	s.exec(cmd)
}

func (s *screen) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if msg == nil {
			return
		}
		select {
		case s.msgs <- msg:
		case <-s.done:
		}
	}()
}
