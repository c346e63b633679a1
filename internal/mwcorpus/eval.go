package mwcorpus

import (
	"hash/fnv"
	"strings"
)

// Scores compares a grouping with the true labels of the same events.
type Scores struct {
	Events, Labels, Groups int
	// GA is the grouping accuracy of Zhu et al. ("Tools and Benchmarks for
	// Automated Log Parsing", 2019): an event is grouped correctly iff the
	// set of events of its predicted group equals the set of events of its
	// true group.
	GA float64
	// Split counts true labels spread over more than one group (duplicate
	// tasks); Mixed counts groups holding more than one label (hidden bugs).
	Split, Mixed int
}

// Score computes Scores for events i with true label labels[i] and
// predicted group ids[i].
func Score(labels, ids []string) Scores {
	byLabel := map[string]map[string]int{}
	byID := map[string]map[string]int{}
	for i := range labels {
		if byLabel[labels[i]] == nil {
			byLabel[labels[i]] = map[string]int{}
		}
		byLabel[labels[i]][ids[i]]++
		if byID[ids[i]] == nil {
			byID[ids[i]] = map[string]int{}
		}
		byID[ids[i]][labels[i]]++
	}
	s := Scores{Events: len(labels), Labels: len(byLabel), Groups: len(byID)}
	correct := 0
	for _, ids := range byLabel {
		if len(ids) > 1 {
			s.Split++
			continue
		}
		for id, n := range ids {
			if len(byID[id]) == 1 {
				correct += n
			}
		}
	}
	for _, ls := range byID {
		if len(ls) > 1 {
			s.Mixed++
		}
	}
	if s.Events > 0 {
		s.GA = float64(correct) / float64(s.Events)
	}
	return s
}

// Family is the error-site family of a label: the file of its in-app site
// (the caller when there is one), e.g. "includes/api/ApiQueryBase.php". Development
// looks at some families and holds the others out (HeldOut), so that
// figures on the held-out part measure sites the rules were not tuned on.
func Family(label string) string {
	site := label
	if k := strings.Index(site, "@"); k >= 0 {
		site = site[k+1:]
	}
	if k := strings.Index(site, "<-"); k >= 0 {
		site = site[k+2:]
	}
	if k := strings.IndexAny(site, " :"); k >= 0 {
		site = site[:k]
	}
	return site
}

// HeldOut reports whether a label's family belongs to the held-out part
// (about a third of the families, chosen by hash).
func HeldOut(label string) bool {
	h := fnv.New32a()
	h.Write([]byte(Family(label)))
	return h.Sum32()%3 == 0
}
