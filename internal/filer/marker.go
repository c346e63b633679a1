package filer

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/wikimedia/sheriff/internal/finding"
)

// Markers.
//
// Every task the filer writes ends with a line
//
//	sheriffmarker sheriffsig<kind><id>
//
// The second word identifies the signature. It is built to be one word for
// every full-text engine Phabricator and Phorge use: only lower-case ASCII
// letters and digits (no colon, which Phorge parses as a field function and
// would need quoting; no hyphen or dot, on which the tokenizer splits; no
// upper case, which some paths fold), at most 82 characters (under InnoDB's
// 84-character token limit used by the old MySQL engine). Keys that are hex
// ids of 8..64 characters are kept literally so that a human can find a task
// by signature id; other keys are replaced by "h" and the first 32 hex
// characters of a SHA-256 of kind and key ("h" is not a hex digit, so the two
// forms cannot collide). The searches always quote the word as well, which
// turns off stemming and function parsing on Phorge.
//
// The constant first word lets `tasks resync` find every task sheriff ever
// filed with one search. Umbrella tasks carry "sheriffsigumbrella<id>" as their
// own marker and list each member as "sheriffmember <member marker>".
const (
	markerWord = "sheriffmarker"
	memberWord = "sheriffmember"
	markerPre  = "sheriffsig"
	// KindUmbrella is the kind of the umbrella tasks storm control files.
	KindUmbrella finding.Kind = "umbrella"
)

// Marker returns the marker word of a finding identity.
func Marker(kind finding.Kind, key string) string {
	k := sanitizeKind(string(kind))
	if isHexID(key) {
		return markerPre + k + strings.ToLower(key)
	}
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + key))
	return markerPre + k + "h" + hex.EncodeToString(sum[:16])
}

func sanitizeKind(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 10 {
		s = s[:10]
	}
	return s
}

func isHexID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// markerLine is the last line of every description the filer writes.
func markerLine(marker string) string { return markerWord + " " + marker }

// parseMarkers returns the task's own marker (from its "sheriffmarker" line)
// and the member markers an umbrella lists. Only whole lines count, so a
// marker quoted inside some other sentence or a code block is not mistaken
// for the task's identity.
func parseMarkers(description string) (own string, members []string) {
	for _, line := range strings.Split(description, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case markerWord:
			// The last one wins: ours is always the final line, and
			// anything earlier came from quoted log text.
			if strings.HasPrefix(f[1], markerPre) {
				own = f[1]
			}
		case memberWord:
			if strings.HasPrefix(f[1], markerPre) {
				members = append(members, f[1])
			}
		}
	}
	return own, members
}

// words splits text into lower-case words the way a full-text index does:
// runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
}

// MarkerOf returns the marker a task description carries as its own ("" when
// none): for tests and tools that check tasks on a server.
func MarkerOf(description string) string {
	own, _ := parseMarkers(description)
	return own
}
