package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestZZProfile(t *testing.T) {
	o := Options{StepTime: 8 * time.Second}.withDefaults()
	r := &runner{o: o, sz: o.sizes(), rss: map[int]RSSFigure{}}
	r.work, _ = os.MkdirTemp("", "zz")
	defer os.RemoveAll(r.work)
	s, err := r.zoomwatchStep(context.Background(), 15000)
	t.Log(describeStep(s), err)
}
