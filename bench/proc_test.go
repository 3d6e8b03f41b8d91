package bench

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tzoomwatch\nVmHWM:\t   52000 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   12288 kB\nRssFile:\t   28672 kB\nThreads:\t9\n"
	m := parseStatus([]byte(status))
	if m.RSS != 40<<20 || m.Peak != 52000*1024 || m.Anon != 12<<20 || m.File != 28<<20 || m.Threads != 9 {
		t.Fatalf("%+v", m)
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
	stat := "4242 (zoom (watch) x) S 1 4242 4242 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 3 {
		t.Fatalf("%v %v, want 3 s", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestGoroutineCounterReadsTheSchedulerTrace(t *testing.T) {
	trace := `SCHED 5004ms: gomaxprocs=2 idleprocs=2 threads=7 spinningthreads=0 needspinning=0 idlethreads=4 runqueue=0 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false
  P0: status=0 schedtick=31 syscalltick=12 m=nil runqsize=0 gfreecnt=0 timerslen=2
  M1: p=nil curg=nil mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=true lockedg=nil
  G1: status=4(chan receive) m=nil lockedm=nil
  G2: status=4(force gc (idle)) m=nil lockedm=nil
zoomwatch: 11:29:14 live
  G7: status=6() m=nil lockedm=nil
  G8: status=4099(select) m=nil lockedm=nil
  G9: status=11() m=nil lockedm=nil
SCHED 10004ms: gomaxprocs=2 idleprocs=2 threads=7
  G1: status=4(chan receive) m=nil lockedm=nil
`
	var got []int
	g := &goroutineCounter{emit: func(_ time.Time, n int) { got = append(got, n) }}
	for _, l := range strings.Split(trace, "\n") {
		g.line(l, time.Now())
	}
	g.flush()
	// First block: G1, G2 and G8 (a scan bit on a waiting goroutine) live; G7 and G9 dead.
	if len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Fatalf("counts %v, want [3 1]", got)
	}
}

func TestIsFeedMsgKnowsOnlyTheTUIsBatchMessage(t *testing.T) {
	for _, msg := range []tea.Msg{nil, tea.WindowSizeMsg{}, tea.BatchMsg{}, struct{}{}} {
		if isFeedMsg(msg) {
			t.Errorf("%T taken for a feed message", msg)
		}
	}
}
