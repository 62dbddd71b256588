package centrifuge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/sdk-go/gen"
)

// DefaultTimeout bounds each call when Config sets neither Timeout nor HTTPClient.
const DefaultTimeout = 10 * time.Second

// Config configures a Client. Zero values mean defaults.
type Config struct {
	// Addr is the server's base URL, "http://localhost:8000" for example (a
	// path prefix such as "https://example.com/rt" is kept). Required.
	Addr string
	// APIKey is the project's api_key, sent as X-API-Key. Required.
	APIKey string
	// Project is the project's name; "" is the project named default.
	Project string
	// Timeout bounds each call; 0 means DefaultTimeout. Ignored when
	// HTTPClient is set (set its Timeout instead).
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a new http.Client with Timeout.
	HTTPClient *http.Client
}

// Client calls the server API of one project. It is safe for concurrent use.
type Client struct {
	api *gen.ClientWithResponses
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("centrifuge: Config.Addr is required")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("centrifuge: Config.APIKey is required")
	}
	base := strings.TrimRight(cfg.Addr, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("centrifuge: Config.Addr %q is not an http(s) URL", cfg.Addr)
	}
	base += "/api"
	if cfg.Project != "" {
		base += "/" + url.PathEscape(cfg.Project)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		hc = &http.Client{Timeout: timeout}
	}
	key := cfg.APIKey
	api, err := gen.NewClientWithResponses(base,
		gen.WithHTTPClient(hc),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("X-API-Key", key)
			req.Header.Set("User-Agent", "centrifuge-sdk-go")
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("centrifuge: %w", err)
	}
	return &Client{api: api}, nil
}

// Publish sends data (anything encoding/json encodes; a json.RawMessage or
// []byte is sent as is and must be JSON) to every subscriber of channel and,
// when the channel keeps history, appends it to the channel's history stream.
func (c *Client) Publish(ctx context.Context, channel string, data any, opts ...PublishOption) (PublishResult, error) {
	req, err := publishRequest(channel, data, opts)
	if err != nil {
		return PublishResult{}, encodeError("publish", err)
	}
	r, err := c.api.PublishWithResponse(ctx, req)
	env, err := envelope[gen.PublishResponse]("publish", r, err)
	if err != nil {
		return PublishResult{}, err
	}
	return result("publish", env.Error, env.Result)
}

// Broadcast publishes data into each of channels. Each channel gets its own
// response, in the order of channels: a failure in one (see ReplyError) does
// not stop the others and is not an error of Broadcast.
func (c *Client) Broadcast(ctx context.Context, channels []string, data any, opts ...PublishOption) (BroadcastResult, error) {
	req, err := broadcastRequest(channels, data, opts)
	if err != nil {
		return BroadcastResult{}, encodeError("broadcast", err)
	}
	r, err := c.api.BroadcastWithResponse(ctx, req)
	env, err := envelope[gen.BroadcastResponse]("broadcast", r, err)
	if err != nil {
		return BroadcastResult{}, err
	}
	return result("broadcast", env.Error, env.Result)
}

// Subscribe subscribes every connection of user (or only one, ForClient) to
// channel, on every node. The connections get a subscribe push.
func (c *Client) Subscribe(ctx context.Context, user, channel string, opts ...SubscribeOption) error {
	req, err := subscribeRequest(user, channel, opts)
	if err != nil {
		return encodeError("subscribe", err)
	}
	r, err := c.api.SubscribeWithResponse(ctx, req)
	env, err := envelope[gen.SubscribeResponse]("subscribe", r, err)
	if err != nil {
		return err
	}
	return ReplyError("subscribe", env.Error)
}

// Unsubscribe unsubscribes every connection of user (or only one, ForClient)
// from channel, on every node. The connections get an unsubscribe push (2000).
func (c *Client) Unsubscribe(ctx context.Context, user, channel string, opts ...UnsubscribeOption) error {
	r, err := c.api.UnsubscribeWithResponse(ctx, unsubscribeRequest(user, channel, opts))
	env, err := envelope[gen.UnsubscribeResponse]("unsubscribe", r, err)
	if err != nil {
		return err
	}
	return ReplyError("unsubscribe", env.Error)
}

// Disconnect closes every connection of user (or only one, ForClient), on
// every node, with code 3503 "force disconnect" (no reconnect) or the one of
// WithDisconnect.
func (c *Client) Disconnect(ctx context.Context, user string, opts ...DisconnectOption) error {
	r, err := c.api.DisconnectWithResponse(ctx, disconnectRequest(user, opts))
	env, err := envelope[gen.DisconnectResponse]("disconnect", r, err)
	if err != nil {
		return err
	}
	return ReplyError("disconnect", env.Error)
}

// Refresh updates the expiry (ExpireAt) and info (WithInfo) of every
// connection of user (or only one, ForClient), on every node, or disconnects
// them with 3005 so that they reconnect with a fresh token (Expired).
func (c *Client) Refresh(ctx context.Context, user string, opts ...RefreshOption) error {
	req, err := refreshRequest(user, opts)
	if err != nil {
		return encodeError("refresh", err)
	}
	r, err := c.api.RefreshWithResponse(ctx, req)
	env, err := envelope[gen.RefreshResponse]("refresh", r, err)
	if err != nil {
		return err
	}
	return ReplyError("refresh", env.Error)
}

// Presence lists the connections subscribed to channel, keyed by client id.
// The channel needs the presence option (otherwise ErrNotAvailable).
func (c *Client) Presence(ctx context.Context, channel string) (PresenceResult, error) {
	r, err := c.api.PresenceWithResponse(ctx, gen.PresenceRequest{Channel: channel})
	env, err := envelope[gen.PresenceResponse]("presence", r, err)
	if err != nil {
		return PresenceResult{}, err
	}
	return result("presence", env.Error, env.Result)
}

// PresenceStats counts the connections and unique users subscribed to channel.
func (c *Client) PresenceStats(ctx context.Context, channel string) (PresenceStatsResult, error) {
	r, err := c.api.PresenceStatsWithResponse(ctx, gen.PresenceStatsRequest{Channel: channel})
	env, err := envelope[gen.PresenceStatsResponse]("presence_stats", r, err)
	if err != nil {
		return PresenceStatsResult{}, err
	}
	return result("presence_stats", env.Error, env.Result)
}

// History reads channel's history stream: only the stream position unless
// WithLimit is given; Since and Reverse page through it.
func (c *Client) History(ctx context.Context, channel string, opts ...HistoryOption) (HistoryResult, error) {
	r, err := c.api.HistoryWithResponse(ctx, historyRequest(channel, opts))
	env, err := envelope[gen.HistoryResponse]("history", r, err)
	if err != nil {
		return HistoryResult{}, err
	}
	return result("history", env.Error, env.Result)
}

// HistoryRemove drops channel's kept publications; the stream position is kept.
func (c *Client) HistoryRemove(ctx context.Context, channel string) error {
	r, err := c.api.HistoryRemoveWithResponse(ctx, gen.HistoryRemoveRequest{Channel: channel})
	env, err := envelope[gen.HistoryRemoveResponse]("history_remove", r, err)
	if err != nil {
		return err
	}
	return ReplyError("history_remove", env.Error)
}

// Channels lists the channels with at least one subscriber, across all nodes
// (only those matching WithPattern).
func (c *Client) Channels(ctx context.Context, opts ...ChannelsOption) (ChannelsResult, error) {
	r, err := c.api.ChannelsWithResponse(ctx, channelsRequest(opts))
	env, err := envelope[gen.ChannelsResponse]("channels", r, err)
	if err != nil {
		return ChannelsResult{}, err
	}
	return result("channels", env.Error, env.Result)
}

// Info describes every live node.
func (c *Client) Info(ctx context.Context) (InfoResult, error) {
	r, err := c.api.InfoWithResponse(ctx, gen.InfoRequest{})
	env, err := envelope[gen.InfoResponse]("info", r, err)
	if err != nil {
		return InfoResult{}, err
	}
	return result("info", env.Error, env.Result)
}

// Batch runs b's commands in one request and returns one Reply per command,
// in order: a failed command's Reply has Error set (see ReplyError) and does
// not stop the others. With b.Parallel the server runs them concurrently.
func (c *Client) Batch(ctx context.Context, b *Batch) ([]Reply, error) {
	if b == nil {
		b = &Batch{}
	}
	if b.err != nil {
		return nil, encodeError("batch", b.err)
	}
	commands := b.commands
	if commands == nil {
		commands = []gen.Command{} // "commands": [], not null
	}
	r, err := c.api.BatchWithResponse(ctx, gen.BatchRequest{Commands: commands, Parallel: b.Parallel})
	env, err := envelope[gen.BatchResponse]("batch", r, err)
	if err != nil {
		return nil, err
	}
	return env.Replies, nil
}

// Requests, shared by Client and Batch.

// payload returns data as the request's data (JSON) or b64data (Binary).
func payload(data any) (json.RawMessage, string, error) {
	if b, ok := data.(Binary); ok {
		return nil, base64.StdEncoding.EncodeToString(b), nil
	}
	raw, err := encodeJSON(data)
	if err != nil {
		return nil, "", fmt.Errorf("data: %w", err)
	}
	return raw, "", nil
}

func publishRequest(channel string, data any, opts []PublishOption) (gen.PublishRequest, error) {
	raw, b64, err := payload(data)
	if err != nil {
		return gen.PublishRequest{}, err
	}
	f := publishOptions(opts)
	return gen.PublishRequest{
		Channel: channel, Data: raw, B64Data: b64, Delta: f.delta,
		SkipHistory: f.skipHistory, Tags: f.tags, IdempotencyKey: f.idempotencyKey,
	}, nil
}

func broadcastRequest(channels []string, data any, opts []PublishOption) (gen.BroadcastRequest, error) {
	raw, b64, err := payload(data)
	if err != nil {
		return gen.BroadcastRequest{}, err
	}
	f := publishOptions(opts)
	return gen.BroadcastRequest{
		Channels: channels, Data: raw, B64Data: b64, Delta: f.delta,
		SkipHistory: f.skipHistory, Tags: f.tags, IdempotencyKey: f.idempotencyKey,
	}, nil
}

func subscribeRequest(user, channel string, opts []SubscribeOption) (gen.SubscribeRequest, error) {
	req := gen.SubscribeRequest{User: user, Channel: channel}
	for _, o := range opts {
		if err := o.applySubscribe(&req); err != nil {
			return gen.SubscribeRequest{}, err
		}
	}
	return req, nil
}

func unsubscribeRequest(user, channel string, opts []UnsubscribeOption) gen.UnsubscribeRequest {
	req := gen.UnsubscribeRequest{User: user, Channel: channel}
	for _, o := range opts {
		o.applyUnsubscribe(&req)
	}
	return req
}

func disconnectRequest(user string, opts []DisconnectOption) gen.DisconnectRequest {
	req := gen.DisconnectRequest{User: user}
	for _, o := range opts {
		o.applyDisconnect(&req)
	}
	return req
}

func refreshRequest(user string, opts []RefreshOption) (gen.RefreshRequest, error) {
	req := gen.RefreshRequest{User: user}
	for _, o := range opts {
		if err := o.applyRefresh(&req); err != nil {
			return gen.RefreshRequest{}, fmt.Errorf("info: %w", err)
		}
	}
	return req, nil
}

func historyRequest(channel string, opts []HistoryOption) gen.HistoryRequest {
	req := gen.HistoryRequest{Channel: channel}
	for _, o := range opts {
		o(&req)
	}
	return req
}

func channelsRequest(opts []ChannelsOption) gen.ChannelsRequest {
	var req gen.ChannelsRequest
	for _, o := range opts {
		o(&req)
	}
	return req
}

// Answers.

// parsed is what every generated *XxxHTTPResponse has: E is the spec's
// response schema of HTTP 200.
type parsed[E any] interface {
	StatusCode() int
	GetBody() []byte
	GetJSON200() *E
}

// envelope returns the HTTP 200 body of a call, or the *Error of a call that
// got no readable answer or an HTTP error.
func envelope[E any, P parsed[E]](method string, r P, err error) (*E, error) {
	if err != nil {
		return nil, &Error{Method: method, Message: err.Error(), Err: err}
	}
	if env := r.GetJSON200(); env != nil {
		return env, nil
	}
	return nil, httpError(method, r.StatusCode(), r.GetBody())
}

// httpError decodes the {"error": {...}} body of an HTTP error, or describes a
// body that is not one (a proxy's error page, say).
func httpError(method string, status int, body []byte) *Error {
	var er gen.ErrorResponse
	if json.Unmarshal(body, &er) == nil && er.Error.Code != 0 {
		return &Error{Method: method, StatusCode: status, Code: er.Error.Code, Message: er.Error.Message}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	code := uint32(0)
	if status > 0 {
		code = uint32(status)
	}
	return &Error{Method: method, StatusCode: status, Code: code, Message: msg}
}

// result returns *res, or the method error e.
func result[T any](method string, e *gen.Error, res *T) (T, error) {
	var zero T
	if e != nil {
		return zero, ReplyError(method, e)
	}
	if res == nil {
		return zero, &Error{Method: method, StatusCode: http.StatusOK, Message: "answer has neither result nor error"}
	}
	return *res, nil
}

func encodeError(method string, err error) error {
	return &Error{Method: method, Message: err.Error(), Err: err}
}

var errInvalidJSON = errors.New("not valid JSON")
