//go:build race

package sshserve

// raceEnabled: the race detector slows everything several times over, so the load test's
// figures would mean nothing.
const raceEnabled = true
