// Package numfmt formats numbers for people: the TUI and the bench report share it.
package numfmt

import (
	"strconv"
	"strings"
)

// Thousands formats n with thousands separators: 1,234,567.
func Thousands[T ~int | ~int64 | ~uint64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Plural is "1 reconnect" / "3 reconnects" / "1,204 events".
func Plural[T ~int | ~int64 | ~uint64](n T, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return Thousands(n) + " " + word + "s"
}

// Bytes formats a size in decimal units, as Zoom and file managers do: 312 MB, 4.2 GB, 812 KB.
func Bytes(n int64) string {
	const k = 1000
	switch {
	case n >= k*k*k:
		return strconv.FormatFloat(float64(n)/(k*k*k), 'f', 1, 64) + " GB"
	case n >= k*k:
		return strconv.FormatFloat(float64(n)/(k*k), 'f', 1, 64) + " MB"
	case n >= k:
		return strconv.Itoa(int(n/k)) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
