package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"zoomwatch/store/live"
)

// The hand-written encoder must say exactly what encoding/json would, or loadLive would
// read back something else.
func TestPersonRecordEncodesLikeEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 3, 22, 123456789, time.UTC)
	for _, rec := range []personRecord{
		{},
		{LeftTS: 1795000000000},
		{Present: &live.Participant{Key: "k\"1", Name: "Zoë \\ 王芳 🚀\n", Joined: at, LastTS: 42}},
		{Present: &live.Participant{Key: "k", Name: "n", Email: "a@b", UserID: "u", Joined: at, LastTS: 1, Rejoins: 2, Uncertain: true},
			LeftTS: 7, Sessions: []live.Session{{Key: "k", Name: "n", Join: at, Leave: at.Add(time.Minute), Reason: "Host ended"}, {Key: "k", Name: "n", Leave: at}}},
	} {
		want, _ := json.Marshal(rec)
		if got := rec.appendJSON(nil); string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		var back personRecord
		if err := json.Unmarshal(rec.appendJSON(nil), &back); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("round trip: %+v, %v", back, err)
		}
	}
}
