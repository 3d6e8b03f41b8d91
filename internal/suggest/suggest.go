// Package suggest finds what a mistyped name may have meant: a setting, a flag.
package suggest

// Nearest returns the candidates at most two edits from word, nearest first.
func Nearest(word string, candidates []string) []string {
	var out []string
	for d := 0; d <= 2; d++ {
		for _, c := range candidates {
			if distance(word, c) == d {
				out = append(out, c)
			}
		}
	}
	return out
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
