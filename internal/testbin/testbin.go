// Package testbin builds the zoomwatch binary for the tests that run it as a user would.
package testbin

import (
	"os/exec"
	"testing"
)

// Build builds zoomwatch at path, or skips the test: under -short, or when it does not
// build (go vet ./... fails on the same error, so nothing is hidden by skipping).
func Build(t testing.TB, path string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", path, "zoomwatch").CombinedOutput(); err != nil {
		t.Skipf("the zoomwatch binary does not build: %v\n%s", err, out)
	}
}
