package feed

import "testing"

func TestCleanReason(t *testing.T) {
	for in, want := range map[string]string{
		"Jill Chill left the meeting.<br>Reason: Host ended the meeting.":     "Host ended the meeting",
		"left the meeting. Reason : Host ended the meeting.":                  "Host ended the meeting",
		"İlkay Yılmaz left the meeting.<br>Reason: Network connection error.": "Network connection error",
		"left the meeting": "left the meeting",
		"REASON: lost":     "lost",
	} {
		if got := CleanReason(in); got != want {
			t.Errorf("CleanReason(%q) = %q, want %q", in, got, want)
		}
	}
}
