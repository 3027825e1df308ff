package testregistry

import "sort"

// Levels returns the number of sequential round trips in reqs: the length
// of the longest chain of requests in which each one arrived only after the
// one before it had been answered. Requests a client sends in parallel
// arrive before any of them is answered and so share a level. The count is
// made from the order of events, not from durations; a delay (SetDelay)
// only widens the window in which parallel requests must arrive, so that a
// busy machine does not split one level into two.
func Levels(reqs []Request) int {
	rs := append([]Request(nil), reqs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
	level := make([]int, len(rs))
	most := 0
	for i, r := range rs {
		level[i] = 1
		for j := range i {
			if !rs[j].End.IsZero() && rs[j].End.Before(r.Start) && level[j]+1 > level[i] {
				level[i] = level[j] + 1
			}
		}
		most = max(most, level[i])
	}
	return most
}

// Levels returns the sequential round trips of the requests answered since
// the last Reset (see the function Levels).
func (c *Counter) Levels() int { return Levels(c.Requests()) }
