package numfmt

import "testing"

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567",
		-45000: "-45,000", -123456: "-123,456", -999: "-999", 100000: "100,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
	if got := Thousands(uint64(2_000_000)); got != "2,000,000" {
		t.Errorf("uint64: %q", got)
	}
}
