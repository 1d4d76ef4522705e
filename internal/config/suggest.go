package config

import "strings"

// nearest is the known key an unknown one was most likely meant to be
// ("max_client" → "max_clients"), or "" when none is close.
func nearest(unknown string) string {
	return nearestBy(unknown, func(name string) string { return name })
}

// nearestBy is nearest, comparing unknown with each key's name as spelled
// by spell (an environment variable spells the dots as underscores).
func nearestBy(unknown string, spell func(string) string) string {
	best, bestDist := "", 0
	for _, k := range keys {
		d := distance(unknown, spell(k.name))
		// A key written without its section (socket for admin.socket).
		if _, leaf, ok := strings.Cut(k.name, "."); ok && leaf == unknown {
			d = 1
		}
		if best == "" || d < bestDist {
			best, bestDist = k.name, d
		}
	}
	if bestDist > max(2, len(unknown)/3) {
		return ""
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
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
