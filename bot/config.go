package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/rota"
)

// Config configures the IRC bot. Zero values get the documented defaults
// from Validate.
type Config struct {
	Server string `yaml:"server"`
	Port   int    `yaml:"port"` // default 6697 with TLS, else 6667
	TLS    bool   `yaml:"tls"`
	// Nick is the preferred nick; AltNicks are tried in order when it is
	// taken, and the bot regains Nick as soon as it can.
	Nick     string   `yaml:"nick"`
	AltNicks []string `yaml:"alt_nicks"`
	User     string   `yaml:"user"` // default Nick
	Name     string   `yaml:"name"` // realname, default "sheriff bot"
	// SASLAccount and SASLPassword log in with SASL PLAIN. The caller
	// resolves the password from the environment or a file; it is never
	// logged.
	SASLAccount  string `yaml:"sasl_account"`
	SASLPassword string `yaml:"-"`
	// Channels to join. Automatic announcements go to the first one;
	// commands are answered in all of them.
	Channels []string `yaml:"channels"`
	// Admins are the NickServ accounts allowed to run ack, unack, silence
	// and unsilence, in addition to the accounts of the rota's people.
	Admins []string `yaml:"admins"`
	// AllowOps also allows channel operators of the channel the command is
	// given in.
	AllowOps bool `yaml:"allow_ops"`
	// AnnounceRate is the budget of announcement lines per minute
	// (default 10); command replies are not counted, girc's flood limiter
	// still applies to everything.
	AnnounceRate int `yaml:"announce_rate"`
	// BurstWindow: announcements queued within this window of the first
	// pending one go out together, as one line per kind (default 30s).
	BurstWindow time.Duration `yaml:"burst_window"`
	// EscalateAfter: an announced finding nobody acked is pinged again
	// after this long, and after twice this long the next person on the
	// rota is pinged (default 30m; negative disables escalation).
	EscalateAfter time.Duration `yaml:"escalate_after"`
	// TopicSegment keeps a "sheriff: <nick>" segment in the topic of every
	// joined channel up to date (needs the right to set the topic).
	TopicSegment bool `yaml:"topic_segment"`
	// Link is shown in grouped announcements ("... see <Link>"), e.g.
	// sheriff's status page or a Phabricator query.
	Link string `yaml:"link"`
	// ReconnectMin and ReconnectMax bound the exponential reconnect
	// backoff (defaults 2s and 5m).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// Version is what the version command answers.
	Version string      `yaml:"-"`
	Rota    rota.Config `yaml:"rota"`
}

// FieldError is a configuration error naming the offending field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate applies defaults in place and checks every field; errors name
// the field as "irc.<key>" (rota errors as "rota.<key>").
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "irc." + field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Server) == "" || strings.ContainsAny(c.Server, " \t\r\n/") {
		bad("server", "want a host name or address, got %q", c.Server)
	}
	if c.Port == 0 {
		c.Port = 6667
		if c.TLS {
			c.Port = 6697
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "out of range: %d", c.Port)
	}
	if !girc.IsValidNick(c.Nick) {
		bad("nick", "%q is not a valid nick", c.Nick)
	}
	for i, n := range c.AltNicks {
		if !girc.IsValidNick(n) {
			bad(fmt.Sprintf("alt_nicks[%d]", i), "%q is not a valid nick", n)
		}
	}
	if c.User == "" {
		c.User = c.Nick
	}
	if !girc.IsValidUser(c.User) {
		bad("user", "%q is not a valid user name", c.User)
	}
	if c.Name == "" {
		c.Name = "sheriff bot"
	}
	if (c.SASLAccount == "") != (c.SASLPassword == "") {
		bad("sasl_account", "SASL needs both an account and a password (the password is read from the environment or a file)")
	}
	if len(c.Channels) == 0 {
		bad("channels", "at least one channel is required")
	}
	for i, ch := range c.Channels {
		if !girc.IsValidChannel(ch) {
			bad(fmt.Sprintf("channels[%d]", i), "%q is not a valid channel name", ch)
		}
	}
	for i, a := range c.Admins {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " \r\n") {
			bad(fmt.Sprintf("admins[%d]", i), "%q is not a valid account name", a)
		}
	}
	if c.AnnounceRate == 0 {
		c.AnnounceRate = 10
	}
	if c.AnnounceRate < 0 {
		bad("announce_rate", "must be positive, got %d", c.AnnounceRate)
	}
	if c.BurstWindow == 0 {
		c.BurstWindow = 30 * time.Second
	}
	if c.BurstWindow < 0 || c.BurstWindow > time.Hour {
		bad("burst_window", "must be between 0 and 1h, got %s", c.BurstWindow)
	}
	if c.EscalateAfter == 0 {
		c.EscalateAfter = 30 * time.Minute
	}
	if c.EscalateAfter > 0 && c.EscalateAfter < time.Second {
		bad("escalate_after", "too short: %s", c.EscalateAfter)
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 2 * time.Second
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 5 * time.Minute
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < c.ReconnectMin {
		bad("reconnect_max", "want 0 < reconnect_min <= reconnect_max, got %s and %s", c.ReconnectMin, c.ReconnectMax)
	}
	if strings.ContainsAny(c.Link, " \r\n") {
		bad("link", "must not contain spaces or line breaks")
	}
	if _, err := rota.New(c.Rota); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
