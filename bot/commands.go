package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/silence"
)

// Limits on what a command may carry. IRC lines are short anyway; these
// bound what a hostile or buggy caller can make us store or echo.
const (
	maxArgs       = 64
	maxArgLen     = 300 // one argument (matcher, id)
	maxReasonLen  = 200
	maxReplyLines = 4
	maxSilence    = 90 * 24 * time.Hour
	minSilence    = time.Minute
)

// request is one command as received, with everything needed to decide
// whether its sender may run it, captured when the line arrived.
type request struct {
	nick    string
	channel string // empty for a private message
	name    string
	args    []string
	prefix  string // how it was invoked: "!" or "nick: " (for usage hints)

	// Account evidence. With the account-tag capability the tag on the
	// message itself is authoritative; without it, girc's tracking is only
	// trusted when account-notify and extended-join keep it current.
	capAccountTag    bool
	tagAccount       string
	hasTagAccount    bool
	capAccountNotify bool
	stateKnown       bool
	stateAccount     string
	op               bool // channel operator (or higher) in channel
}

type command struct {
	name     string
	aliases  []string
	usage    string // arguments, e.g. "<id>"
	help     string
	min, max int // argument count; max < 0: unbounded
	mutating bool
	run      func(ctx context.Context, b *Bot, r *request, who string) (string, error)
}

// usageError is a bad-argument reply (a one-line usage hint follows).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badArgs(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// commandTable is the command table; help, parsing and access control
// read it. (A function, not a variable, because help refers to it.)
func commandTable() []*command {
	return []*command{
		{name: "help", usage: "[command]", max: 1, help: "list commands, or explain one", run: cmdHelp},
		{name: "sheriff", aliases: []string{"oncall"}, help: "who is on duty now and next", run: cmdSheriff},
		{name: "ack", usage: "<#n|#a-#b|b12|all|T123|signature>", min: 1, max: 1, mutating: true,
			help: "claim findings: an announcement's #number, a range #1-#32, a burst id b12, all (everything announced to you and not acked), a task or a signature id; stops reminders", run: cmdAck},
		{name: "unack", usage: "<#n|T123|signature>", min: 1, max: 1, mutating: true, help: "remove an ack", run: cmdUnack},
		{name: "silence", usage: "<signature|T123|#n|title-pattern*> <duration> <reason>", min: 3, max: -1, mutating: true,
			help: "mute matching findings for a duration (30 min, 4h, 2d, 1w; at most 90 days); patterns use * and ?", run: cmdSilence},
		{name: "unsilence", usage: "<silence-id>", min: 1, max: 1, mutating: true, help: "lift a silence early", run: cmdUnsilence},
		{name: "silences", help: "list active silences", run: cmdSilences},
		{name: "status", help: "health of each subsystem: last poll, backlog", run: cmdStatus},
		{name: "recent", usage: "[n]", max: 1, help: "the latest new error signatures (default 5, at most 10)", run: cmdRecent},
		{name: "drift", help: "summary of the last configuration drift run", run: cmdDrift},
		{name: "task", usage: "<T123>", min: 1, max: 1, help: "what sheriff knows about a task", run: cmdTask},
		{name: "version", help: "sheriff's version", run: cmdVersion},
	}
}

func lookupCommand(table []*command, name string) *command {
	for _, c := range table {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// parseCommand finds a command in a message: "!cmd args", "<nick>: cmd
// args" (also "," or a space after the nick), or, in private, plain "cmd
// args". nicks are the names the bot answers to. The text is cleaned of
// control and formatting characters first.
func parseCommand(text string, nicks []string, private bool) (name string, args []string, prefix string, ok bool) {
	text = Clean(text)
	switch {
	case strings.HasPrefix(text, "!"):
		text, prefix = text[1:], "!"
	default:
		for _, n := range nicks {
			if rest, found := cutNick(text, n); found {
				text, prefix = rest, n+": "
				break
			}
		}
		if prefix == "" {
			if !private {
				return "", nil, "", false
			}
		}
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return "", nil, "", false
	}
	name = strings.ToLower(fields[0])
	args = fields[1:]
	if len(args) > maxArgs {
		args = args[:maxArgs]
	}
	return name, args, prefix, true
}

// cutNick strips a leading "nick:", "nick," or "nick " (case-insensitively,
// with IRC case mapping) from text.
func cutNick(text, nick string) (string, bool) {
	if nick == "" || len(text) <= len(nick) {
		return "", false
	}
	if girc.ToRFC1459(text[:len(nick)]) != girc.ToRFC1459(nick) {
		return "", false
	}
	switch text[len(nick)] {
	case ':', ',', ' ':
		return strings.TrimLeft(text[len(nick)+1:], " :,"), true
	}
	return "", false
}

func (c *command) usageLine(prefix string) string {
	if prefix == "" {
		prefix = "!"
	}
	u := "usage: " + prefix + c.name
	if c.usage != "" {
		u += " " + c.usage
	}
	return u
}

// onPrivmsg runs on girc's event loop: it only captures the request and
// hands it to commandLoop, which may block (e.g. on a WHOX lookup whose
// answer this very loop must process).
func (b *Bot) onPrivmsg(c *girc.Client, e girc.Event) {
	if e.Source == nil || e.Echo || len(e.Params) < 2 {
		return
	}
	text := e.Last()
	if strings.HasPrefix(text, "\x01") { // CTCP: girc answers VERSION/PING itself
		return
	}
	target := e.Params[0]
	private := girc.ToRFC1459(target) == girc.ToRFC1459(c.GetNick())
	if !private && !b.isConfigured(target) {
		return
	}
	name, args, prefix, ok := parseCommand(text, []string{c.GetNick(), b.cfg.Nick}, private)
	if !ok {
		return
	}
	r := &request{nick: e.Source.Name, name: name, args: args, prefix: prefix}
	if !private {
		r.channel = target
	}
	r.capAccountTag = !b.noAccountCaps && c.HasCapability("account-tag")
	r.tagAccount, r.hasTagAccount = e.Tags.Get("account")
	r.capAccountNotify = !b.noAccountCaps && c.HasCapability("account-notify") && c.HasCapability("extended-join")
	b.lookupMu.Lock()
	u := c.LookupUser(r.nick)
	b.lookupMu.Unlock()
	if u != nil {
		r.stateKnown = true
		r.stateAccount = u.Extras.Account
		if r.channel != "" {
			if p, ok := u.Perms.Lookup(r.channel); ok {
				r.op = p.IsAdmin()
			}
		}
	}
	// "!log ..." and friends belong to other bots in the same channel:
	// they are neither answered nor counted.
	if lookupCommand(b.commands, name) == nil && prefix == "!" && r.channel != "" {
		return
	}
	if limited, tell := b.throttle(throttleKey(r, e.Source.Host), time.Now()); limited {
		b.log.Info("irc command throttled", "nick", r.nick, "command", Truncate(name, 20))
		if tell {
			b.reply(r, fmt.Sprintf("you are sending commands too fast (at most %d per %s); I am ignoring them for a few seconds", b.userBurst, human(b.userWindow)))
		}
		return
	}
	select {
	case b.cmds <- r:
	default:
		b.log.Warn("irc command dropped: too many queued", "nick", r.nick, "command", Truncate(name, 20))
		b.reply(r, "sorry, too many commands are waiting; try again in a moment")
	}
}

func (b *Bot) commandLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-b.cmds:
			b.handle(ctx, r)
		}
	}
}

// userHits is one sender's recent commands, for the throttle.
type userHits struct {
	at   []time.Time
	told bool // told about the throttle since it last cleared
}

// throttle counts a command from sender key (an account or a host) as it
// arrives, and reports whether it is over userBurst per userWindow; tell
// is true the first time in a row, so the user hears about it once.
// Counting on arrival, not when a command is processed, means a slow reply
// never makes a patient user look like a flood.
func (b *Bot) throttle(key string, now time.Time) (limited, tell bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.userHits[key]
	if u == nil {
		u = &userHits{}
		b.userHits[key] = u
	}
	hits := u.at[:0]
	for _, t := range u.at {
		if now.Sub(t) < b.userWindow {
			hits = append(hits, t)
		}
	}
	u.at = hits
	if len(hits) >= b.userBurst {
		tell, u.told = !u.told, true
		return true, tell
	}
	u.at, u.told = append(hits, now), false
	if len(b.userHits) > 1000 { // forget idle senders
		for k, h := range b.userHits {
			if len(h.at) == 0 || now.Sub(h.at[len(h.at)-1]) > b.userWindow {
				delete(b.userHits, k)
			}
		}
	}
	return false, false
}

// throttleKey is who a command counts against: the NickServ account when
// the server tags it, else the host (a user changing nicks is still one
// user), else the nick.
func throttleKey(r *request, host string) string {
	if r.hasTagAccount && r.tagAccount != "" && r.tagAccount != "*" {
		return "account:" + strings.ToLower(r.tagAccount)
	}
	if r.stateKnown && r.stateAccount != "" {
		return "account:" + strings.ToLower(r.stateAccount)
	}
	if host != "" {
		return "host:" + strings.ToLower(host)
	}
	return "nick:" + girc.ToRFC1459(r.nick)
}

func (b *Bot) handle(ctx context.Context, r *request) {
	cmd := lookupCommand(b.commands, r.name)
	if cmd == nil {
		// "!log ..." and friends belong to other bots in the same channel:
		// only answer unknown commands addressed to us.
		b.reply(r, fmt.Sprintf("unknown command %q; try %shelp", Truncate(r.name, 20), orBang(r.prefix)))
		return
	}
	who := ""
	if cmd.mutating {
		var ok bool
		var why string
		who, ok, why = b.authorize(ctx, r)
		if !ok {
			b.log.Warn("irc command refused", "nick", r.nick, "account", who, "command", cmd.name, "why", why)
			b.audit(ctx, r, cmd, who, "refused: "+why)
			b.reply(r, "sorry, "+cmd.name+" needs an authorised NickServ account ("+why+")")
			return
		}
	}
	if len(r.args) < cmd.min || (cmd.max >= 0 && len(r.args) > cmd.max) {
		if cmd.mutating {
			b.audit(ctx, r, cmd, who, "usage")
		}
		b.reply(r, cmd.usageLine(r.prefix))
		return
	}
	for _, a := range r.args {
		if len(a) > maxArgLen && cmd.name != "silence" {
			b.reply(r, "argument too long; "+cmd.usageLine(r.prefix))
			return
		}
	}
	out, err := cmd.run(ctx, b, r, who)
	var ue *usageError
	var nf *notFoundError
	switch {
	case errors.As(err, &nf):
		out = nf.msg
		if cmd.mutating {
			b.audit(ctx, r, cmd, who, "refused: "+nf.msg)
		}
	case errors.As(err, &ue):
		out = ue.msg + "; " + cmd.usageLine(r.prefix)
		if cmd.mutating {
			b.audit(ctx, r, cmd, who, "usage: "+ue.msg)
		}
	case err != nil:
		b.log.Error("irc command failed", "command", cmd.name, "nick", r.nick, "err", err)
		out = "sorry, that failed (internal error, logged)"
		if cmd.mutating {
			b.audit(ctx, r, cmd, who, "error: "+err.Error())
		}
	case cmd.mutating:
		b.audit(ctx, r, cmd, who, "ok")
		b.log.Info("irc command", "command", cmd.name, "account", who, "args", Truncate(strings.Join(r.args, " "), 200))
	}
	b.reply(r, out)
}

func orBang(prefix string) string {
	if prefix == "" {
		return "!"
	}
	return prefix
}

func (b *Bot) audit(ctx context.Context, r *request, cmd *command, who, result string) {
	if who == "" {
		who = r.nick + " (no account)"
	}
	where := r.channel
	if where == "" {
		where = "private"
	}
	err := b.sil.Audit(ctx, silence.AuditEntry{
		Who:    who,
		Action: cmd.name,
		Args:   Truncate(strings.Join(r.args, " "), 400) + " [" + r.nick + " in " + where + "]",
		Result: Truncate(result, 200),
	})
	if err != nil {
		b.log.Error("irc audit", "err", err)
	}
}

// reply answers r: in a channel with a PRIVMSG addressed to the sender, in
// private with a NOTICE (bots do not PRIVMSG people unprompted, and other
// bots must not answer a NOTICE). Replies go out before any announcement.
func (b *Bot) reply(r *request, text string) {
	text = b.clean(text)
	if text == "" {
		return
	}
	cmd, target := "NOTICE", r.nick
	if r.channel != "" {
		cmd, target = "PRIVMSG", r.channel
		text = r.nick + ": " + text
	}
	if Clean(target) != target || strings.ContainsAny(target, " ,") {
		return
	}
	budget := b.budget(cmd, target)
	lines := splitParts(text, budget)
	if len(lines) > maxReplyLines {
		lines = lines[:maxReplyLines]
		lines[maxReplyLines-1] = Truncate(lines[maxReplyLines-1]+" …", budget)
	}
	for _, l := range lines {
		if _, ok := b.send(prioReply, cmd, target, l); !ok {
			b.log.Warn("irc reply dropped: too many waiting", "nick", r.nick)
			return
		}
	}
}

// ---- access control

// authorize decides whether r may run a mutating command. who is the
// identity recorded in the audit log.
func (b *Bot) authorize(ctx context.Context, r *request) (who string, ok bool, why string) {
	acct, verified := b.accountOf(ctx, r)
	if verified && acct != "" {
		who = acct
		if b.allowed[strings.ToLower(acct)] {
			return acct, true, ""
		}
	}
	if b.cfg.AllowOps && r.op && r.channel != "" {
		if who == "" {
			who = r.nick + " (op in " + r.channel + ")"
		}
		return who, true, ""
	}
	switch {
	case !verified:
		return who, false, "cannot verify your account on this network"
	case acct == "":
		return who, false, "you are not identified with NickServ"
	default:
		return who, false, "account " + acct + " is not on the list"
	}
}

// accountOf returns the NickServ account r was sent from. verified is
// false when the network gives no trustworthy way to know it. Never the
// nick: anyone can take a nick.
func (b *Bot) accountOf(ctx context.Context, r *request) (account string, verified bool) {
	if r.capAccountTag {
		if r.hasTagAccount && r.tagAccount != "*" {
			return r.tagAccount, true
		}
		return "", true
	}
	if r.capAccountNotify && r.stateKnown {
		if r.stateAccount != "" {
			return r.stateAccount, true
		}
		// Users already in the channel when we joined have no account in
		// girc's state until its WHO reply arrives: ask before refusing.
		if acct, ok := b.whoxAccount(ctx, r.nick); ok {
			return acct, true
		}
		return "", true
	}
	return b.whoxAccount(ctx, r.nick)
}

// whoxAccount asks the server for nick's account with a WHOX query.
func (b *Bot) whoxAccount(ctx context.Context, nick string) (string, bool) {
	if _, ok := b.client.GetServerOption("WHOX"); !ok {
		return "", false
	}
	w := &whoxWait{nick: nick, ch: make(chan string, 1)}
	b.mu.Lock()
	// Tokens 100-999; girc uses 1 and 2 for its own WHO queries.
	b.whoxTok = (b.whoxTok + 1) % 900
	tok := strconv.Itoa(100 + b.whoxTok)
	b.whox[tok] = w
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.whox, tok)
		b.mu.Unlock()
	}()
	b.client.Send(&girc.Event{Command: girc.WHO, Params: []string{nick, "%tna," + tok}})
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case acct := <-w.ch:
		switch acct {
		case "\x00", "0":
			return "", true // not logged in (or gone)
		default:
			return acct, true
		}
	case <-t.C:
		return "", false
	case <-ctx.Done():
		return "", false
	}
}

// onWhox receives "354 me token nick account" for our "%tna" queries.
func (b *Bot) onWhox(_ *girc.Client, e girc.Event) {
	if len(e.Params) != 4 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w, ok := b.whox[e.Params[1]]; ok && girc.ToRFC1459(w.nick) == girc.ToRFC1459(e.Params[2]) {
		select {
		case w.ch <- e.Params[3]:
		default:
		}
	}
}

// onEndOfWho ends a WHOX lookup that had no reply line: no such user.
func (b *Bot) onEndOfWho(_ *girc.Client, e girc.Event) {
	if len(e.Params) < 2 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.whox {
		if girc.ToRFC1459(w.nick) == girc.ToRFC1459(e.Params[1]) {
			select {
			case w.ch <- "\x00":
			default:
			}
		}
	}
}

// ---- commands

func cmdHelp(_ context.Context, b *Bot, r *request, _ string) (string, error) {
	p := orBang(r.prefix)
	if len(r.args) == 1 {
		c := lookupCommand(b.commands, strings.ToLower(strings.TrimPrefix(r.args[0], "!")))
		if c == nil {
			return "", badArgs("no command %q", Truncate(r.args[0], 20))
		}
		s := c.usageLine(p) + " — " + c.help
		if len(c.aliases) > 0 {
			s += " (also: " + strings.Join(c.aliases, ", ") + ")"
		}
		if c.mutating {
			s += "; needs an authorised NickServ account"
		}
		return s, nil
	}
	var names []string
	for _, c := range b.commands {
		names = append(names, c.name)
	}
	return "commands: " + strings.Join(names, ", ") + " — " + p + "help <command> for details", nil
}

func (b *Bot) whenText(t time.Time) string {
	return t.In(b.rota.Location()).Format("Mon 2 Jan 15:04 MST")
}

func cmdSheriff(_ context.Context, b *Bot, _ *request, _ string) (string, error) {
	cur, next, at := b.rota.OnDuty(b.now())
	if cur.IsZero() {
		return "no rota is configured", nil
	}
	if next == cur {
		return fmt.Sprintf("on duty: %s (nobody else on the rota)", cur.Nick), nil
	}
	return fmt.Sprintf("on duty: %s until %s, then %s", cur.Nick, b.whenText(at), next.Nick), nil
}

func cmdSilence(ctx context.Context, b *Bot, r *request, who string) (string, error) {
	if len(r.args[0]) > silence.MaxPatternLen {
		return "", badArgs("matcher too long (at most %d bytes)", silence.MaxPatternLen)
	}
	s, err := b.resolveOne(ctx, r.args[0])
	if err != nil {
		return "", err
	}
	// "30 min" is two words.
	typed, rest := r.args[1], r.args[2:]
	if len(rest) > 1 && isDurationUnit(rest[0]) {
		typed, rest = typed+" "+rest[0], rest[1:]
	}
	d, err := parseDuration(typed)
	if err != nil {
		return "", badArgs("%v", err)
	}
	if err := checkLimits(typed, d, minSilence, maxSilence); err != nil {
		return "", badArgs("%v", err)
	}
	reason := Truncate(strings.Join(rest, " "), maxReasonLen)
	now := b.now()
	id, err := b.sil.Add(ctx, silence.Silence{Kind: s.kind, Matcher: s.key, Author: who, Reason: reason,
		Created: now, Expires: now.Add(d)})
	if err != nil {
		if errors.Is(err, silence.ErrInvalid) {
			return "", badArgs("%s", strings.TrimPrefix(err.Error(), "silence: invalid: "))
		}
		return "", err
	}
	return fmt.Sprintf("silence #%d: %s %s for %s, until %s (%s)", id, s.kind, s.label, human(d), b.whenText(now.Add(d)), reason), nil
}

func cmdUnsilence(ctx context.Context, b *Bot, r *request, who string) (string, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return "", badArgs("%q is not a silence id", Truncate(r.args[0], 20))
	}
	switch err := b.sil.Expire(ctx, id, who); {
	case errors.Is(err, silence.ErrNotFound):
		return fmt.Sprintf("there is no silence #%d", id), nil
	case errors.Is(err, silence.ErrAlreadyExpired):
		return fmt.Sprintf("silence #%d is not active", id), nil
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("lifted silence #%d", id), nil
}

func cmdSilences(ctx context.Context, b *Bot, _ *request, _ string) (string, error) {
	active, err := b.sil.Active(ctx, b.now())
	if err != nil {
		return "", err
	}
	if len(active) == 0 {
		return "no active silences", nil
	}
	parts := make([]string, 0, len(active))
	for i, s := range active {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("and %d more", len(active)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("#%d %s %s by %s until %s: %s", s.ID, s.Kind, Truncate(s.Matcher, 40),
			s.Author, b.whenText(s.Expires), Truncate(s.Reason, 60)))
	}
	return fmt.Sprintf("%d active: %s", len(active), strings.Join(parts, "; ")), nil
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func cmdStatus(ctx context.Context, b *Bot, _ *request, _ string) (string, error) {
	if b.deps.Status == nil {
		return "status is not available", nil
	}
	subs := b.deps.Status.Status(ctx)
	if len(subs) == 0 {
		return "no subsystems report status", nil
	}
	now := b.now()
	parts := make([]string, 0, len(subs))
	for _, s := range subs {
		state := "ok"
		if !s.Healthy {
			state = "FAILING"
		}
		p := s.Name + " " + state
		var det []string
		if !s.LastPoll.IsZero() {
			det = append(det, "polled "+ago(now, s.LastPoll))
		}
		if s.Backlog > 0 {
			det = append(det, fmt.Sprintf("backlog %d", s.Backlog))
		}
		if s.Detail != "" {
			det = append(det, Truncate(s.Detail, 80))
		}
		if len(det) > 0 {
			p += " (" + strings.Join(det, ", ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; "), nil
}

func cmdRecent(ctx context.Context, b *Bot, r *request, _ string) (string, error) {
	n := 5
	if len(r.args) == 1 {
		v, err := strconv.Atoi(r.args[0])
		if err != nil || v < 1 {
			return "", badArgs("%q is not a positive number", Truncate(r.args[0], 20))
		}
		n = min(v, 10)
	}
	if b.deps.Recent == nil {
		return "recent signatures are not available", nil
	}
	sigs, err := b.deps.Recent.Recent(ctx, n)
	if err != nil {
		return "", err
	}
	if len(sigs) == 0 {
		return "no new signatures", nil
	}
	now := b.now()
	parts := make([]string, 0, len(sigs))
	for _, s := range sigs {
		p := fmt.Sprintf("%s %s (%s, %d×, first %s)", s.Key[:runeCut(s.Key, 12)], Truncate(s.Title, 70), s.Status, s.Count, ago(now, s.FirstSeen))
		if s.Task != "" {
			p += " " + s.Task
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " | "), nil
}

func cmdDrift(ctx context.Context, b *Bot, _ *request, _ string) (string, error) {
	if b.deps.Drift == nil {
		return "drift reports are not available", nil
	}
	s, ok, err := b.deps.Drift.DriftSummary(ctx)
	if err != nil {
		return "", err
	}
	if !ok {
		return "no drift run yet", nil
	}
	out := s.Text
	if out == "" {
		out = fmt.Sprintf("%d real drift findings, %d known differences", s.Real, s.Known)
	}
	out = fmt.Sprintf("drift run %s: %s", ago(b.now(), s.When), out)
	if s.Link != "" {
		out += " " + s.Link
	}
	return out, nil
}

func cmdTask(ctx context.Context, b *Bot, r *request, _ string) (string, error) {
	id := strings.ToUpper(r.args[0])
	if k, _, err := silence.ParseMatcher(id); err != nil || k != silence.KindTask {
		return "", badArgs("%q is not a task id like T123", Truncate(r.args[0], 20))
	}
	var parts []string
	found := false
	if b.deps.Tasks != nil {
		t, ok, err := b.deps.Tasks.TaskInfo(ctx, id)
		if err != nil {
			return "", err
		}
		if ok {
			found = true
			p := fmt.Sprintf("%s (%s): %s", t.ID, t.Status, Truncate(t.Title, 120))
			if t.Count > 0 {
				p += fmt.Sprintf(" — %d events, last %s", t.Count, ago(b.now(), t.LastSeen))
			}
			if len(t.Keys) > 0 {
				keys := append([]string(nil), t.Keys...)
				sort.Strings(keys)
				if len(keys) > 3 {
					keys = append(keys[:3], "…")
				}
				p += "; signatures " + strings.Join(keys, " ")
			}
			if t.URL != "" {
				p += " " + t.URL
			}
			parts = append(parts, p)
		}
	}
	a, ok, err := b.q.findByTask(ctx, id)
	if err != nil {
		return "", err
	}
	keys := []string{id}
	if ok {
		keys = append(keys, a.Key)
		if !found {
			parts = append(parts, fmt.Sprintf("%s: announced as #%d %s", id, a.ID, Truncate(a.Title, 120)))
			found = true
		}
	}
	if ack, ok, err := b.sil.Acked(ctx, keys...); err != nil {
		return "", err
	} else if ok {
		parts = append(parts, fmt.Sprintf("acked by %s %s", ack.Who, ago(b.now(), ack.At)))
	}
	title := ""
	if ok {
		title = a.Title
	}
	if s, ok, err := b.sil.Match(ctx, keys[len(keys)-1], id, title, b.now()); err != nil {
		return "", err
	} else if ok {
		parts = append(parts, fmt.Sprintf("silenced by #%d until %s", s.ID, b.whenText(s.Expires)))
	}
	if !found && len(parts) == 0 {
		return fmt.Sprintf("sheriff knows nothing about %s", id), nil
	}
	return strings.Join(parts, "; "), nil
}

func cmdVersion(_ context.Context, b *Bot, _ *request, _ string) (string, error) {
	v := b.cfg.Version
	if v == "" {
		v = "(development build)"
	}
	return "sheriff " + v, nil
}
