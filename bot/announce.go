package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/finding"
)

var errDisconnected = errors.New("bot: disconnected before delivery was confirmed")

// Announce queues f for announcement to the on-duty sheriff in the first
// configured channel. It returns once the announcement is stored: it is
// delivered when connected, after the burst window, exactly once. Silenced
// findings (by status or by an active silence) are not announced; a
// finding already waiting in the queue is not queued twice.
func (b *Bot) Announce(ctx context.Context, f finding.Finding, taskURL string) error {
	if f.Status == finding.StatusSilenced {
		return nil
	}
	title := b.clean(f.Title)
	if title == "" {
		title = Clean(f.Key)
	}
	url := Clean(taskURL)
	taskID := ""
	switch {
	case strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://"):
		if strings.Contains(url, " ") {
			url = "" // not a URL; never let it smuggle words into the line
		}
		taskID = taskIDFromURL(url)
	case url != "":
		// A dry-run outbox file: its id, never its path.
		if b.deps.TaskRef != nil {
			taskID = b.deps.TaskRef(url)
		}
		url = ""
	}
	now := b.now()
	if s, ok, err := b.sil.Match(ctx, f.Key, taskID, title, now); err != nil {
		return err
	} else if ok {
		b.log.Debug("irc announcement silenced", "key", f.Key, "silence", s.ID)
		return nil
	}
	_, added, err := b.q.enqueue(ctx, announcement{
		Reason: reasonNew, Kind: f.Kind, Key: f.Key, Status: string(f.Status),
		Title: title, TaskURL: url, TaskID: taskID, Created: now,
	}, "")
	if err != nil {
		return err
	}
	if added {
		b.mu.Lock()
		b.pending++
		b.mu.Unlock()
		b.poke()
	}
	return nil
}

// Say queues one informational line for the first configured channel, such
// as the nightly drift summary. It is delivered like announcements (durably,
// exactly once, within the announcement budget) but addresses nobody and is
// never escalated. dedupe, when not empty, makes a second Say with the same
// value a no-op (a drift run re-announced after a restart).
func (b *Bot) Say(ctx context.Context, text, dedupe string) error {
	line := b.clean(text)
	if line == "" {
		return nil
	}
	if dedupe != "" {
		dedupe = "info:" + dedupe
	}
	_, added, err := b.q.enqueue(ctx, announcement{Reason: reasonInfo, Kind: "info", Key: "info", Title: line, Created: b.now()}, dedupe)
	if err != nil {
		return err
	}
	if added {
		b.mu.Lock()
		b.pending++
		b.mu.Unlock()
		b.poke()
	}
	return nil
}

func (b *Bot) deliverLoop(ctx context.Context) {
	t := time.NewTicker(b.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
		if err := b.deliver(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("irc delivery deferred", "err", err)
		}
	}
}

func (b *Bot) inChannel(name string) bool {
	b.mu.Lock()
	done := b.namesDone[girc.ToRFC1459(name)]
	b.mu.Unlock()
	return done && b.client.IsInChannel(name)
}

// deliver sends what is pending, if connected and in the announcement
// channel and the burst window of the oldest pending row has passed.
func (b *Bot) deliver(ctx context.Context) error {
	ch := b.cfg.Channels[0]
	gen, reg := b.generation()
	if !reg || !b.inChannel(ch) {
		return nil
	}
	// Read the clock before the queue: a row queued after this instant
	// must not be taken for part of a burst whose window has passed.
	now := b.now()
	rows, err := b.q.pending(ctx, 500)
	if err != nil {
		return err
	}
	n, err := b.q.pendingCount(ctx)
	if err == nil {
		b.mu.Lock()
		b.pending = n
		b.mu.Unlock()
	}
	if len(rows) == 0 {
		return nil
	}
	if now.Sub(rows[0].Created) < b.cfg.BurstWindow {
		return nil // let the burst gather
	}
	keep := rows[:0]
	for _, a := range rows {
		why, err := b.stale(ctx, a, now)
		if err != nil {
			return err
		}
		if why != "" {
			b.log.Info("irc announcement dropped", "id", a.ID, "key", a.Key, "why", why)
			if err := b.q.markDropped(ctx, a.ID, why, now); err != nil {
				return err
			}
			continue
		}
		keep = append(keep, a)
	}
	lines := b.compose(keep, now, b.budget("NOTICE", ch))
	if b.log.Enabled(ctx, slog.LevelDebug) {
		var ids []string
		for _, a := range keep {
			ids = append(ids, fmt.Sprintf("#%d:%s@%s", a.ID, a.Key, a.Created.Format(time.RFC3339)))
		}
		b.log.Debug("irc delivering", "rows", ids, "lines", len(lines), "now", now.Format(time.RFC3339), "db", b.deps.DB.Path)
	}
	for _, l := range lines {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if g, reg := b.generation(); g != gen || !reg {
			return errDisconnected
		}
		b.limiter.Take()
		if err := b.sendConfirmed(ctx, gen, l.prio, "NOTICE", ch, l.text); err != nil {
			return err
		}
		// Record the delivery even if we are shutting down meanwhile.
		if err := b.q.markSent(context.WithoutCancel(ctx), l.ids, l.to, b.now()); err != nil {
			return err
		}
	}
	if n, err := b.q.pendingCount(ctx); err == nil {
		b.mu.Lock()
		b.pending = n
		b.mu.Unlock()
	}
	return nil
}

// stale says why a pending row should no longer be sent: its finding was
// silenced or acked meanwhile.
func (b *Bot) stale(ctx context.Context, a announcement, now time.Time) (string, error) {
	if a.Reason == reasonExpired || a.Reason == reasonInfo {
		return "", nil
	}
	if s, ok, err := b.sil.Match(ctx, a.Key, a.TaskID, a.Title, now); err != nil {
		return "", err
	} else if ok {
		return fmt.Sprintf("silenced by #%d", s.ID), nil
	}
	if ack, ok, err := b.sil.Acked(ctx, a.Key, a.TaskID); err != nil {
		return "", err
	} else if ok {
		return "acked by " + ack.Who, nil
	}
	return "", nil
}

// sendConfirmed sends one line and then a PING with a fresh token; the
// server answers PINGs in order, so its PONG proves it has processed the
// line. A disconnect, an error reply (cannot send to channel) or no PONG
// within confirmWait is an error and the line stays queued. It does not
// give up when ctx is cancelled: Run waits for it before quitting, so that
// a shutdown does not leave a delivered line unconfirmed (and resent by
// the next process).
func (b *Bot) sendConfirmed(ctx context.Context, gen, prio int, command, target, text string) error {
	tok := "sheriff-" + strconv.FormatUint(rand.Uint64(), 36)
	done := make(chan struct{})
	b.mu.Lock()
	if b.gen != gen || !b.registered {
		b.mu.Unlock()
		return errDisconnected
	}
	b.pongs[tok] = done
	delete(b.sendFail, gen)
	b.mu.Unlock()

	t := time.NewTimer(b.confirmWait)
	defer t.Stop()
	written, _ := b.out.enqueue(prio, gen, &girc.Event{Command: command, Params: []string{target, text}})
	select {
	case err := <-written:
		if err != nil {
			b.mu.Lock()
			delete(b.pongs, tok)
			b.mu.Unlock()
			return err
		}
	case <-t.C:
		b.mu.Lock()
		delete(b.pongs, tok)
		b.mu.Unlock()
		return fmt.Errorf("bot: line not written within %s", b.confirmWait)
	}
	b.client.Cmd.Ping(tok)
	select {
	case <-done:
	case <-t.C:
		b.mu.Lock()
		delete(b.pongs, tok)
		b.mu.Unlock()
		return fmt.Errorf("bot: no PONG within %s", b.confirmWait)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen != gen || !b.registered {
		return errDisconnected
	}
	if why := b.sendFail[gen]; why != "" {
		return fmt.Errorf("bot: server refused the announcement: %s", why)
	}
	return nil
}

type outLine struct {
	text string
	ids  []int64
	to   string
	prio int
}

func noun(kind finding.Kind, status string, n int) string {
	var s string
	switch {
	case kind == finding.KindError && status == string(finding.StatusRegressed):
		s = "regressed error signature"
	case kind == finding.KindError:
		s = "new error signature"
	case kind == finding.KindPuppet:
		s = "puppet failure"
	case kind == finding.KindDrift:
		s = "config drift finding"
	case kind == finding.KindSpike:
		s = "error spike"
	default:
		s = "new finding"
	}
	if n != 1 {
		s += "s"
	}
	return s
}

// fit builds head+title+tail within budget bytes, shortening only the title.
func fit(head, title, tail string, budget int) string {
	room := budget - len(head) - len(tail)
	if room < 8 {
		return Truncate(head+title+tail, budget)
	}
	return head + Truncate(title, room) + tail
}

func addr(nick string) string {
	if nick == "" {
		return ""
	}
	return nick + ": "
}

// idRanges writes ids (ascending) as "#1–#3, #7".
func idRanges(ids []int64) string {
	ids = append([]int64(nil), ids...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("#%d–#%d", ids[i], ids[j]))
		} else {
			parts = append(parts, fmt.Sprintf("#%d", ids[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// listLine is head, as many titles as fit, "… +n more", and tail.
func listLine(head string, titles []string, tail string, budget int) string {
	var out []string
	used := len(head) + len(tail)
	for i, t := range titles {
		t = Truncate(t, 60)
		reserve := 0
		if i < len(titles)-1 {
			reserve = len(", … +1000 more")
		}
		if i > 0 && used+2+len(t)+reserve > budget {
			out = append(out, fmt.Sprintf("… +%d more", len(titles)-i))
			break
		}
		out = append(out, t)
		used += 2 + len(t)
	}
	return Truncate(head+strings.Join(out, ", ")+tail, budget)
}

// taskTail is what follows a single finding's title: its task link, or in
// dry-run its outbox task id (never a local file path).
func taskTail(a announcement) string {
	switch {
	case a.TaskURL != "":
		return " — " + a.TaskURL
	case a.TaskID != "":
		return " — " + a.TaskID + " (dry-run)"
	}
	return ""
}

func (b *Bot) seeLink() string {
	if b.cfg.Link != "" {
		return " — see " + b.cfg.Link
	}
	return " — see !recent"
}

// compose turns pending rows into lines: new findings of one kind are one
// line per burst, all reminders one line to the person on duty, all
// escalations one line to the next person; expiry notices and
// informational lines one line each. New findings come first.
func (b *Bot) compose(rows []announcement, now time.Time, budget int) []outLine {
	cur, next, _ := b.rota.OnDuty(now)
	var groups [][]announcement
	byNoun := map[string]int{}
	var reminders, escalations []announcement
	var out []outLine
	for _, a := range rows {
		switch a.Reason {
		case reasonNew:
			k := string(a.Kind) + "\x00" + noun(a.Kind, a.Status, 1)
			i, ok := byNoun[k]
			if !ok {
				i = len(groups)
				byNoun[k] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], a)
		case reasonRemind:
			reminders = append(reminders, a)
		case reasonEscalate:
			escalations = append(escalations, a)
		case reasonInfo:
			out = append(out, outLine{ids: []int64{a.ID}, prio: prioFollowUp, text: Truncate(a.Title, budget)})
		case reasonExpired:
			out = append(out, outLine{ids: []int64{a.ID}, prio: prioFollowUp,
				text: Truncate(fmt.Sprintf("silence #%d (%s %s, by %s) has expired: %s", a.Ref, a.TaskURL, a.Key, a.Status, a.Title), budget)})
		}
	}
	var lines []outLine
	for _, g := range groups {
		first := g[0]
		if len(g) == 1 {
			lines = append(lines, outLine{ids: []int64{first.ID}, to: cur.Nick, prio: prioNew,
				text: fit(fmt.Sprintf("%s%s #%d: ", addr(cur.Nick), noun(first.Kind, first.Status, 1), first.ID),
					first.Title, taskTail(first), budget)})
			continue
		}
		ids := make([]int64, 0, len(g))
		titles := make([]string, 0, len(g))
		for _, a := range g {
			ids = append(ids, a.ID)
			titles = append(titles, a.Title)
		}
		head := fmt.Sprintf("%s%d %s (%s, burst b%d): ", addr(cur.Nick), len(g), noun(first.Kind, first.Status, 2), idRanges(ids), first.ID)
		lines = append(lines, outLine{ids: ids, to: cur.Nick, prio: prioNew, text: listLine(head, titles, b.seeLink(), budget)})
	}
	if len(reminders) > 0 {
		lines = append(lines, b.followUp(reminders, cur.Nick, fmt.Sprintf("not acked for %s", human(b.cfg.EscalateAfter)), budget))
	}
	if len(escalations) > 0 {
		lines = append(lines, b.followUp(escalations, next.Nick,
			fmt.Sprintf("not acked by %s for %s", cur.Nick, human(2*b.cfg.EscalateAfter)), budget))
	}
	return append(lines, out...)
}

// followUp is the one line of a round of reminders or escalations.
func (b *Bot) followUp(rows []announcement, to, what string, budget int) outLine {
	ids := make([]int64, 0, len(rows))
	refs := make([]int64, 0, len(rows))
	titles := make([]string, 0, len(rows))
	for _, a := range rows {
		ids = append(ids, a.ID)
		refs = append(refs, a.Ref)
		titles = append(titles, a.Title)
	}
	l := outLine{ids: ids, to: to, prio: prioFollowUp}
	if len(rows) == 1 {
		l.text = fit(fmt.Sprintf("%s#%d %s: ", addr(to), rows[0].Ref, what), rows[0].Title, taskTail(rows[0]), budget)
		return l
	}
	head := fmt.Sprintf("%s%d findings %s (%s): ", addr(to), len(rows), what, idRanges(refs))
	l.text = listLine(head, titles, b.seeLink(), budget)
	return l
}

// escalate queues a reminder for delivered findings nobody acked within
// EscalateAfter, and after twice that a ping to the next person on the
// rota. Acked or silenced findings are left alone from then on.
func (b *Bot) escalate(ctx context.Context) error {
	if b.cfg.EscalateAfter <= 0 {
		return nil
	}
	now := b.now()
	due, err := b.q.dueEscalations(ctx, now, b.cfg.EscalateAfter)
	if err != nil {
		return err
	}
	queued := false
	for _, a := range due {
		why, err := b.stale(ctx, a, now)
		if err != nil {
			return err
		}
		if why != "" {
			if err := b.q.setStage(ctx, a.ID, stageDone, nil, ""); err != nil {
				return err
			}
			continue
		}
		f := a
		f.Ref, f.Created = a.ID, now
		stage, dedupe := stageAwaitEscal, "remind:"+strconv.FormatInt(a.ID, 10)
		f.Reason = reasonRemind
		if a.Stage >= stageAwaitEscal {
			stage, dedupe = stageDone, "escalate:"+strconv.FormatInt(a.ID, 10)
			f.Reason = reasonEscalate
		}
		if err := b.q.setStage(ctx, a.ID, stage, &f, dedupe); err != nil {
			return err
		}
		queued = true
	}
	if queued {
		b.poke()
	}
	return nil
}

// expireSilences queues one notice per silence that ran out by itself.
func (b *Bot) expireSilences(ctx context.Context) error {
	now := b.now()
	exp, err := b.sil.ExpiredUnannounced(ctx, now)
	if err != nil {
		return err
	}
	for _, s := range exp {
		// The dedupe key makes a crash between these two steps harmless.
		if _, _, err := b.q.enqueue(ctx, announcement{
			Reason: reasonExpired, Kind: "silence", Key: Truncate(b.clean(s.Matcher), 80), Status: b.clean(s.Author),
			Title: Truncate(b.clean(s.Reason), 100), TaskURL: string(s.Kind), Ref: s.ID, Created: now,
		}, "expired:"+strconv.FormatInt(s.ID, 10)); err != nil {
			return err
		}
		if err := b.sil.MarkAnnounced(ctx, s.ID); err != nil {
			return err
		}
	}
	if len(exp) > 0 {
		b.poke()
	}
	return nil
}

var topicSegRe = regexp.MustCompile(`(?i)\bsheriff:\s*[^\s|]+`)

// topicWith returns topic with its "sheriff: <nick>" segment set to nick,
// appending the segment if there is none.
func topicWith(topic, nick string) string {
	seg := "sheriff: " + nick
	if loc := topicSegRe.FindStringIndex(topic); loc != nil {
		return topic[:loc[0]] + seg + topic[loc[1]:]
	}
	if strings.TrimSpace(topic) == "" {
		return seg
	}
	return strings.TrimRight(topic, " ") + " | " + seg
}

// topic returns the current topic of channel as last seen.
func (b *Bot) topic(channel string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics[girc.ToRFC1459(channel)]
}

// updateTopics keeps the sheriff segment of each joined channel's topic
// current. Each distinct topic is attempted once, so a bot without the
// right to set it does not retry forever.
func (b *Bot) updateTopics() {
	cur, _, _ := b.rota.OnDuty(b.now())
	if cur.IsZero() {
		return
	}
	maxLen, ok := b.client.GetServerOptionInt("TOPICLEN")
	if !ok {
		maxLen = 300
	}
	for _, name := range b.cfg.Channels {
		if !b.inChannel(name) {
			continue
		}
		k := girc.ToRFC1459(name)
		b.mu.Lock()
		topic := b.topics[k]
		b.mu.Unlock()
		want := topicWith(Clean(topic), cur.Nick)
		if want == topic || len(want) > maxLen {
			continue
		}
		b.mu.Lock()
		tried := b.topicTried[k] == want
		b.topicTried[k] = want
		b.mu.Unlock()
		if !tried {
			b.client.Cmd.Topic(name, want)
		}
	}
}
