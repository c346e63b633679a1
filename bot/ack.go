package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/wikimedia/sheriff/internal/silence"
)

// maxAckRange bounds "ack #a-#b".
const maxAckRange = 1000

// subject is what ack/unack/silence refer to.
type subject struct {
	key    string // ack key / silence matcher
	kind   silence.Kind
	taskID string
	id     int64  // the announcement, if the subject came from one
	label  string // for replies
}

// notFoundError is a refusal naming what does not exist; it gets no usage
// hint (the usage was right).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

var (
	rangeRe = regexp.MustCompile(`^#?([0-9]{1,12})\s*[-–—]\s*#?([0-9]{1,12})$`)
	burstRe = regexp.MustCompile(`^[bB]([0-9]{1,12})$`)
	numRe   = regexp.MustCompile(`^#?([0-9]{1,12})$`)
)

// origin maps a reminder or escalation row to the finding it is about.
func (b *Bot) origin(ctx context.Context, a announcement) (announcement, bool, error) {
	switch a.Reason {
	case reasonNew:
		return a, true, nil
	case reasonRemind, reasonEscalate:
		return b.q.get(ctx, a.Ref)
	}
	return announcement{}, false, nil
}

func rowSubject(a announcement) subject {
	return subject{key: a.Key, kind: silence.KindKey, taskID: a.TaskID, id: a.ID,
		label: fmt.Sprintf("#%d (%s)", a.ID, Truncate(a.Title, 60))}
}

// resolveOne turns "#12"/"12" (an announcement), "T123" or a signature id
// into a subject, refusing what sheriff does not know. Patterns are taken
// as they are: they are for findings to come too.
func (b *Bot) resolveOne(ctx context.Context, arg string) (subject, error) {
	if m := numRe.FindStringSubmatch(arg); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		a, ok, err := b.q.get(ctx, n)
		if err != nil {
			return subject{}, err
		}
		if ok {
			a, ok, err = b.origin(ctx, a)
			if err != nil {
				return subject{}, err
			}
		}
		if !ok {
			return subject{}, &notFoundError{fmt.Sprintf("no finding was announced as #%d", n)}
		}
		return rowSubject(a), nil
	}
	kind, m, err := silence.ParseMatcher(arg)
	if err != nil {
		return subject{}, badArgs("%s", strings.TrimPrefix(err.Error(), "silence: invalid: "))
	}
	s := subject{key: m, kind: kind, label: m}
	switch kind {
	case silence.KindTask:
		s.taskID = m
		known, err := b.knownTask(ctx, m)
		if err != nil {
			return subject{}, err
		}
		if !known {
			return subject{}, &notFoundError{fmt.Sprintf("sheriff filed no task %s", m)}
		}
	case silence.KindKey:
		a, ok, err := b.q.findByKey(ctx, m)
		if err != nil {
			return subject{}, err
		}
		if ok {
			s.label = fmt.Sprintf("%s (%s)", Truncate(m, 16), Truncate(a.Title, 60))
			break
		}
		if b.deps.Findings != nil {
			key, title, ok, err := b.deps.Findings.LookupFinding(ctx, m)
			if err != nil {
				return subject{}, err
			}
			if ok {
				s.key, s.label = key, fmt.Sprintf("%s (%s)", Truncate(key, 16), Truncate(title, 60))
				break
			}
		}
		return subject{}, &notFoundError{fmt.Sprintf("no finding or signature %q is known (an announcement #number, a task T123 or a signature id from !recent)", Truncate(m, 40))}
	}
	return s, nil
}

func (b *Bot) knownTask(ctx context.Context, id string) (bool, error) {
	if _, ok, err := b.q.findByTask(ctx, id); err != nil || ok {
		return ok, err
	}
	if b.deps.Tasks == nil {
		return false, nil
	}
	_, ok, err := b.deps.Tasks.TaskInfo(ctx, id)
	return ok, err
}

// resolveMany turns an ack argument into the findings it names: "#1-#32",
// a burst id "b12", "all" (everything announced to the caller and not
// acked), or one target as for resolveOne.
func (b *Bot) resolveMany(ctx context.Context, r *request, who, arg string) ([]subject, string, error) {
	var rows []announcement
	var what string
	var err error
	switch {
	case strings.EqualFold(arg, "all"):
		nicks := []string{r.nick}
		if p, ok := b.rota.PersonByAccount(who); ok {
			nicks = append(nicks, p.Nick)
		}
		rows, err = b.q.announcedTo(ctx, nicks)
		what = "announced to " + r.nick
	case burstRe.MatchString(arg):
		n, _ := strconv.ParseInt(burstRe.FindStringSubmatch(arg)[1], 10, 64)
		rows, err = b.q.list(ctx, `burst = ? ORDER BY id`, n)
		what = fmt.Sprintf("in burst b%d", n)
	case rangeRe.MatchString(arg):
		m := rangeRe.FindStringSubmatch(arg)
		lo, _ := strconv.ParseInt(m[1], 10, 64)
		hi, _ := strconv.ParseInt(m[2], 10, 64)
		if hi < lo {
			lo, hi = hi, lo
		}
		if hi-lo >= maxAckRange {
			return nil, "", badArgs("a range covers at most %d announcements", maxAckRange)
		}
		rows, err = b.q.list(ctx, `id BETWEEN ? AND ? ORDER BY id`, lo, hi)
		what = fmt.Sprintf("in #%d–#%d", lo, hi)
	default:
		s, err := b.resolveOne(ctx, arg)
		if err != nil {
			return nil, "", err
		}
		return []subject{s}, s.label, nil
	}
	if err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var out []subject
	for _, a := range rows {
		o, ok, err := b.origin(ctx, a)
		if err != nil {
			return nil, "", err
		}
		if !ok || seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		out = append(out, rowSubject(o))
	}
	if len(out) == 0 {
		return nil, "", &notFoundError{"no findings were announced " + strings.TrimPrefix(what, "announced ")}
	}
	return out, what, nil
}

func cmdAck(ctx context.Context, b *Bot, r *request, who string) (string, error) {
	subs, label, err := b.resolveMany(ctx, r, who, r.args[0])
	if err != nil {
		return "", err
	}
	if len(subs) == 1 && subs[0].kind == silence.KindPattern {
		return "", badArgs("ack takes findings, not a pattern (silence takes patterns)")
	}
	all := strings.EqualFold(r.args[0], "all")
	var ids []int64
	n, already := 0, 0
	for _, s := range subs {
		if a, ok, err := b.sil.Acked(ctx, s.key, s.taskID); err != nil {
			return "", err
		} else if ok && all {
			already++
			continue // "all" is what is not acked yet
		} else if ok && a.Who == who {
			already++
		}
		if err := b.sil.Ack(ctx, s.key, who); err != nil {
			return "", err
		}
		n++
		if s.id > 0 {
			ids = append(ids, s.id)
		}
	}
	if n == 0 {
		return fmt.Sprintf("nothing to ack: the %d findings %s are acked already", already, label), nil
	}
	if len(subs) == 1 {
		return fmt.Sprintf("acked %s for %s; no more reminders", label, who), nil
	}
	out := fmt.Sprintf("acked %d findings (%s) for %s; no more reminders", n, idRanges(ids), who)
	if already > 0 {
		out += fmt.Sprintf(" (%d were acked already)", already)
	}
	return out, nil
}

func cmdUnack(ctx context.Context, b *Bot, r *request, _ string) (string, error) {
	s, err := b.resolveOne(ctx, r.args[0])
	if err != nil {
		return "", err
	}
	if err := b.sil.Unack(ctx, s.key); errors.Is(err, silence.ErrNotFound) {
		return fmt.Sprintf("%s was not acked", s.label), nil
	} else if err != nil {
		return "", err
	}
	return fmt.Sprintf("removed the ack on %s", s.label), nil
}
