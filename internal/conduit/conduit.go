// Package conduit is a small client for Phabricator's / Phorge's Conduit API,
// covering what sheriff uses: maniphest.search, maniphest.edit,
// transaction.search, project.search and user.whoami.
//
// It is written here rather than on github.com/uber/gonduit because gonduit
// v0.13.0 has no maniphest.edit (only the legacy maniphest.createtask), no
// retries, turns a plain-text 429/5xx answer into the same error type as a
// server error_code (so callers cannot tell "rejected" from "unknown outcome"),
// and needs a conduit.getcapabilities round trip to connect. Conduit itself is
// simple: a form-encoded POST with a JSON "params" field.
//
// Requests are form-encoded ("params" holds the JSON parameters, the token is
// sent both as "api.token" and inside params.__conduit__, output=json); real
// servers reject JSON bodies. Errors come back with HTTP 200 and a non-null
// error_code, returned as *Error. 429 answers are retried for every call with
// exponential backoff and jitter; 5xx answers and network errors are retried
// only for reads, because a write whose outcome is unknown must not be sent
// twice (the caller resolves it, see package filer); other answers are
// returned as *HTTPError. Writes pass through a rate limiter.
package conduit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/ratelimit"

	"github.com/wikimedia/sheriff/internal/backoff"
)

// Error is a Conduit error answer: HTTP 200 with error_code and error_info.
// The server processed and refused the call. errors.Is matches on Code, so
// errors.Is(err, conduit.ErrInvalidAuth) works.
type Error struct {
	Method string
	Code   string
	Info   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("conduit %s: %s: %s", e.Method, e.Code, e.Info)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Method == ""
}

// Well-known error codes, for errors.Is.
var (
	ErrInvalidAuth    = &Error{Code: "ERR-INVALID-AUTH"}
	ErrInvalidSession = &Error{Code: "ERR-INVALID-SESSION"}
	ErrCore           = &Error{Code: "ERR-CONDUIT-CORE"}
	ErrCallNotFound   = &Error{Code: "ERR-CONDUIT-CALL"}
)

// HTTPError is an answer that is not a Conduit response: a non-200 status
// (after retries, for retryable ones) or a 200 whose body is not JSON.
type HTTPError struct {
	Method     string
	StatusCode int
	Body       string // the start of the body, for diagnosis
	Attempts   int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("conduit %s: HTTP %d after %d attempt(s): %s", e.Method, e.StatusCode, e.Attempts, e.Body)
}

// ErrUnknownProject is returned (wrapped) when a project name or hashtag does
// not resolve.
var ErrUnknownProject = errors.New("unknown project")

// Options configure a Client.
type Options struct {
	// URL is the base URL of the install, e.g. https://phabricator.wikimedia.org.
	URL string
	// Token is a Conduit API token (api-...). It is never logged.
	Token string
	// HTTPClient defaults to a client with a 60 s timeout.
	HTTPClient *http.Client
	// WriteInterval is the minimum time between two write calls; default 2s.
	WriteInterval time.Duration
	// MaxAttempts bounds the attempts of one call; default 5.
	MaxAttempts int
	// Backoff is the delay policy between attempts; default 1s doubling to 30s.
	Backoff backoff.Policy
	// MaxRetryAfter caps a server's Retry-After; default 60s.
	MaxRetryAfter time.Duration
	Log           *slog.Logger
}

// Client calls Conduit. It is safe for concurrent use.
type Client struct {
	base    string
	token   string
	http    *http.Client
	limiter ratelimit.Limiter
	opts    Options
	log     *slog.Logger
}

// New returns a client. It does not contact the server.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("conduit: bad URL %q: want http(s)://host", o.URL)
	}
	if o.Token == "" {
		return nil, errors.New("conduit: no API token")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.WriteInterval <= 0 {
		o.WriteInterval = 2 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff.Base <= 0 {
		o.Backoff.Base = time.Second
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = 30 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		base:  strings.TrimRight(o.URL, "/"),
		token: o.Token,
		http:  o.HTTPClient,
		// Without slack: after an idle period the limiter must not allow a
		// burst, "one write every 2 s" is a hard ceiling.
		limiter: ratelimit.New(1, ratelimit.Per(o.WriteInterval), ratelimit.WithoutSlack),
		opts:    o,
		log:     o.Log.With("component", "conduit"),
	}, nil
}

// BaseURL returns the install's base URL (for task links).
func (c *Client) BaseURL() string { return c.base }

// LoadToken returns the token from the environment variable envName, or else
// from file (trimmed), or "" when neither is set. A file that is set but
// unreadable or empty is an error.
func LoadToken(envName, file string) (string, error) {
	if envName != "" {
		if v := strings.TrimSpace(os.Getenv(envName)); v != "" {
			return v, nil
		}
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("conduit: read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("conduit: token file %s is empty", file)
	}
	return tok, nil
}

// isWrite reports whether a method changes state. Writes are rate limited and
// are not retried when their outcome is unknown.
func isWrite(method string) bool {
	return strings.HasSuffix(method, ".edit") || strings.HasSuffix(method, ".create") ||
		strings.HasSuffix(method, ".createtask") || strings.HasSuffix(method, ".update")
}

type envelope struct {
	Result    json.RawMessage `json:"result"`
	ErrorCode *string         `json:"error_code"`
	ErrorInfo *string         `json:"error_info"`
}

// Call invokes method with params (marshalled to JSON) and decodes the
// result into result (which may be nil).
func (c *Client) Call(ctx context.Context, method string, params map[string]any, result any) error {
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	p["__conduit__"] = map[string]any{"token": c.token}
	pj, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("conduit %s: encode params: %w", method, err)
	}
	form := url.Values{"params": {string(pj)}, "output": {"json"}, "api.token": {c.token}}
	body := form.Encode()
	write := isWrite(method)
	var lastErr error
	for attempt := 1; ; attempt++ {
		if write {
			c.limiter.Take()
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("conduit %s: %w", method, err)
		}
		env, retryAfter, err := c.do(ctx, method, body, attempt)
		if err == nil {
			if env.ErrorCode != nil && *env.ErrorCode != "" {
				info := ""
				if env.ErrorInfo != nil {
					info = *env.ErrorInfo
				}
				return &Error{Method: method, Code: *env.ErrorCode, Info: info}
			}
			if result != nil && len(env.Result) > 0 && string(env.Result) != "null" {
				if err := json.Unmarshal(env.Result, result); err != nil {
					return fmt.Errorf("conduit %s: decode result: %w", method, err)
				}
			}
			return nil
		}
		lastErr = err
		if !c.retryable(err, write) || attempt >= c.opts.MaxAttempts || ctx.Err() != nil {
			return lastErr
		}
		d := c.opts.Backoff.Delay(attempt - 1)
		if retryAfter > d {
			d = min(retryAfter, c.opts.MaxRetryAfter)
		}
		c.log.Warn("conduit call failed; retrying", "method", method, "attempt", attempt, "delay", d, "err", err)
		if err := backoff.Sleep(ctx, d); err != nil {
			return fmt.Errorf("%w (gave up: %w)", lastErr, err)
		}
	}
}

// retryable decides whether an attempt may be repeated.
func (c *Client) retryable(err error, write bool) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusTooManyRequests {
			return true // refused before doing anything
		}
		return !write && he.StatusCode >= 500
	}
	if write {
		// Only when the request provably never reached the server.
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

func (c *Client) do(ctx context.Context, method, body string, attempt int) (*envelope, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/"+method, strings.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("conduit %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error carries the URL, which holds no secret (the token is in
		// the body).
		return nil, 0, fmt.Errorf("conduit %s: %w", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("conduit %s: read answer: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		var ra time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
		return nil, ra, &HTTPError{Method: method, StatusCode: resp.StatusCode, Body: snippet(b), Attempts: attempt}
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, 0, &HTTPError{Method: method, StatusCode: resp.StatusCode, Body: snippet(b), Attempts: attempt}
	}
	return &env, 0, nil
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
