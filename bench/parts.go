package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"zoomwatch/internal/cpupart"
)

// runtimePart names CPU time with no part label: Go's collector and scheduler working in
// their own goroutines (collection work an allocating goroutine is made to do counts in
// its part).
const runtimePart = "runtime"

// partOrder is the order parts are printed in: the pipeline's, then the rest.
var partOrder = []string{cpupart.Feed, cpupart.Store, cpupart.Live, cpupart.Screen, cpupart.Simulator, cpupart.Bench, runtimePart}

// cpuProfile is a CPU profile of the whole process over a step's window, read by part.
type cpuProfile struct {
	buf bytes.Buffer
	on  bool
}

// startProfile starts profiling the process; when another profile is running (go test
// -cpuprofile), the step goes without parts.
func startProfile() *cpuProfile {
	p := &cpuProfile{}
	p.on = pprof.StartCPUProfile(&p.buf) == nil
	return p
}

// stop ends the profile and returns the cores each part kept busy, scaled so that they add
// up to cores (what /proc counted over the window; the profile samples it 100 times a
// second). nil when there was no profile. With save, the profile is also written there
// (see Options.ProfileDir).
func (p *cpuProfile) stop(cores float64, save string) (map[string]float64, error) {
	if !p.on {
		return nil, nil
	}
	pprof.StopCPUProfile()
	data := p.buf.Bytes()
	if save != "" {
		if err := os.WriteFile(save, data, 0o644); err != nil {
			return nil, err
		}
	}
	prof, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the step's CPU profile: %w", err)
	}
	return byPart(prof, cores), nil
}

// profilePath is where a step's profile goes in dir: who-rate.pprof, numbered when a step
// at that rate ran before (a retry). "" without dir.
func profilePath(dir, who string, rate float64) string {
	if dir == "" {
		return ""
	}
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s-%.0f.pprof", who, rate)
		if n > 1 {
			name = fmt.Sprintf("%s-%.0f-%d.pprof", who, rate, n)
		}
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil { // not there (or unreadable: writing it says why)
			return path
		}
	}
}

// byPart sums a CPU profile's time by part label, scaled to add up to cores.
func byPart(prof *profile.Profile, cores float64) map[string]float64 {
	col := -1
	for i, st := range prof.SampleType {
		if st.Type == "cpu" {
			col = i
		}
	}
	if col < 0 || cores <= 0 {
		return nil
	}
	parts, total := map[string]float64{}, 0.0
	for _, s := range prof.Sample {
		part := runtimePart
		if l := s.Label[cpupart.Key]; len(l) > 0 {
			part = l[0]
		}
		parts[part] += float64(s.Value[col])
		total += float64(s.Value[col])
	}
	if total == 0 {
		return nil
	}
	for k, v := range parts {
		parts[k] = v / total * cores
	}
	return parts
}

// describeParts prints cores by part, in pipeline order, leaving out parts under 0.005.
func describeParts(parts map[string]float64) string {
	var out []string
	for _, k := range slices.Concat(partOrder, unknownParts(parts)) {
		if v := parts[k]; v >= 0.005 {
			out = append(out, fmt.Sprintf("%s %.2f", k, v))
		}
	}
	return strings.Join(out, " · ")
}

// unknownParts are parts partOrder does not name (a label added since), sorted.
func unknownParts(parts map[string]float64) []string {
	var out []string
	for k := range parts {
		if !slices.Contains(partOrder, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
