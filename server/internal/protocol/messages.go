package protocol

import "encoding/json"

// Raw is embedded raw JSON (data, info, conn_info, chan_info).
type Raw = json.RawMessage

// Command is one client-to-server frame. Exactly one method field is set; a
// frame with no id and no method is a pong (the answer to a server ping).
type Command struct {
	ID            uint32                `json:"id,omitempty"`
	Connect       *ConnectRequest       `json:"connect,omitempty"`
	Subscribe     *SubscribeRequest     `json:"subscribe,omitempty"`
	Unsubscribe   *UnsubscribeRequest   `json:"unsubscribe,omitempty"`
	Publish       *PublishRequest       `json:"publish,omitempty"`
	Presence      *PresenceRequest      `json:"presence,omitempty"`
	PresenceStats *PresenceStatsRequest `json:"presence_stats,omitempty"`
	History       *HistoryRequest       `json:"history,omitempty"`
	Ping          *struct{}             `json:"ping,omitempty"`
	Send          *SendRequest          `json:"send,omitempty"`
	RPC           *RPCRequest           `json:"rpc,omitempty"`
	Refresh       *RefreshRequest       `json:"refresh,omitempty"`
	SubRefresh    *SubRefreshRequest    `json:"sub_refresh,omitempty"`
}

// Reply is one server-to-client frame: the answer to a command (id set), a push
// (no id), or a ping (empty object).
type Reply struct {
	ID            uint32               `json:"id,omitempty"`
	Error         *Error               `json:"error,omitempty"`
	Push          *Push                `json:"push,omitempty"`
	Connect       *ConnectResult       `json:"connect,omitempty"`
	Subscribe     *SubscribeResult     `json:"subscribe,omitempty"`
	Unsubscribe   *UnsubscribeResult   `json:"unsubscribe,omitempty"`
	Publish       *PublishResult       `json:"publish,omitempty"`
	Presence      *PresenceResult      `json:"presence,omitempty"`
	PresenceStats *PresenceStatsResult `json:"presence_stats,omitempty"`
	History       *HistoryResult       `json:"history,omitempty"`
	Ping          *struct{}            `json:"ping,omitempty"`
	RPC           *RPCResult           `json:"rpc,omitempty"`
	Refresh       *RefreshResult       `json:"refresh,omitempty"`
	SubRefresh    *SubRefreshResult    `json:"sub_refresh,omitempty"`
}

// Push is an asynchronous server message about a channel or the connection.
type Push struct {
	Channel     string       `json:"channel,omitempty"`
	Pub         *Publication `json:"pub,omitempty"`
	Join        *Join        `json:"join,omitempty"`
	Leave       *Leave       `json:"leave,omitempty"`
	Unsubscribe *Unsubscribe `json:"unsubscribe,omitempty"`
	Message     *Message     `json:"message,omitempty"`
	Subscribe   *Subscribe   `json:"subscribe,omitempty"`
	Connect     *Connect     `json:"connect,omitempty"`
	Disconnect  *Disconnect  `json:"disconnect,omitempty"`
	Refresh     *Refresh     `json:"refresh,omitempty"`
}

// ClientInfo describes a connection in presence, join/leave and publications.
type ClientInfo struct {
	User     string `json:"user"`
	Client   string `json:"client"`
	ConnInfo Raw    `json:"conn_info,omitempty"`
	ChanInfo Raw    `json:"chan_info,omitempty"`
}

// Publication is one message in a channel.
type Publication struct {
	Data Raw `json:"data"`
	// B64Data carries binary data (published with the server API's b64data),
	// base64, in place of Data (then null), which can only embed JSON.
	B64Data string            `json:"b64data,omitempty"`
	Info    *ClientInfo       `json:"info,omitempty"`
	Offset  uint64            `json:"offset,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

type Join struct {
	Info ClientInfo `json:"info"`
}

type Leave struct {
	Info ClientInfo `json:"info"`
}

type Unsubscribe struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason,omitempty"`
}

type Subscribe struct {
	Recoverable bool   `json:"recoverable,omitempty"`
	Epoch       string `json:"epoch,omitempty"`
	Offset      uint64 `json:"offset,omitempty"`
	Positioned  bool   `json:"positioned,omitempty"`
	Data        Raw    `json:"data,omitempty"`
}

type Message struct {
	Data Raw `json:"data"`
}

type Connect struct {
	Client  string                      `json:"client"`
	Version string                      `json:"version,omitempty"`
	Data    Raw                         `json:"data,omitempty"`
	Subs    map[string]*SubscribeResult `json:"subs,omitempty"`
	Expires bool                        `json:"expires,omitempty"`
	TTL     uint32                      `json:"ttl,omitempty"`
	Ping    uint32                      `json:"ping,omitempty"`
	Pong    bool                        `json:"pong,omitempty"`
	Session string                      `json:"session,omitempty"`
	Node    string                      `json:"node,omitempty"`
}

type Refresh struct {
	Expires bool   `json:"expires,omitempty"`
	TTL     uint32 `json:"ttl,omitempty"`
}

type ConnectRequest struct {
	Token   string                       `json:"token,omitempty"`
	Data    Raw                          `json:"data,omitempty"`
	Subs    map[string]*SubscribeRequest `json:"subs,omitempty"`
	Name    string                       `json:"name,omitempty"`
	Version string                       `json:"version,omitempty"`
}

type ConnectResult = Connect

type RefreshRequest struct {
	Token string `json:"token"`
}

type RefreshResult struct {
	Client  string `json:"client"`
	Version string `json:"version,omitempty"`
	Expires bool   `json:"expires,omitempty"`
	TTL     uint32 `json:"ttl,omitempty"`
}

type SubscribeRequest struct {
	Channel     string `json:"channel"`
	Token       string `json:"token,omitempty"`
	Recover     bool   `json:"recover,omitempty"`
	Epoch       string `json:"epoch,omitempty"`
	Offset      uint64 `json:"offset,omitempty"`
	Data        Raw    `json:"data,omitempty"`
	Positioned  bool   `json:"positioned,omitempty"`
	Recoverable bool   `json:"recoverable,omitempty"`
	JoinLeave   bool   `json:"join_leave,omitempty"`
	Flag        int64  `json:"flag,omitempty"`
}

type SubscribeResult struct {
	Expires       bool           `json:"expires,omitempty"`
	TTL           uint32         `json:"ttl,omitempty"`
	Recoverable   bool           `json:"recoverable,omitempty"`
	Epoch         string         `json:"epoch,omitempty"`
	Publications  []*Publication `json:"publications,omitempty"`
	Recovered     bool           `json:"recovered,omitempty"`
	Offset        uint64         `json:"offset,omitempty"`
	Positioned    bool           `json:"positioned,omitempty"`
	Data          Raw            `json:"data,omitempty"`
	WasRecovering bool           `json:"was_recovering,omitempty"`
}

type SubRefreshRequest struct {
	Channel string `json:"channel"`
	Token   string `json:"token"`
}

type SubRefreshResult struct {
	Expires bool   `json:"expires,omitempty"`
	TTL     uint32 `json:"ttl,omitempty"`
}

type UnsubscribeRequest struct {
	Channel string `json:"channel"`
}

type UnsubscribeResult struct{}

type PublishRequest struct {
	Channel string `json:"channel"`
	Data    Raw    `json:"data"`
}

type PublishResult struct{}

type PresenceRequest struct {
	Channel string `json:"channel"`
}

type PresenceResult struct {
	Presence map[string]*ClientInfo `json:"presence"`
}

type PresenceStatsRequest struct {
	Channel string `json:"channel"`
}

type PresenceStatsResult struct {
	NumClients uint32 `json:"num_clients"`
	NumUsers   uint32 `json:"num_users"`
}

// StreamPosition in a history request.
type StreamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

type HistoryRequest struct {
	Channel string          `json:"channel"`
	Limit   int32           `json:"limit,omitempty"`
	Since   *StreamPosition `json:"since,omitempty"`
	Reverse bool            `json:"reverse,omitempty"`
}

type HistoryResult struct {
	Publications []*Publication `json:"publications"`
	Epoch        string         `json:"epoch"`
	Offset       uint64         `json:"offset"`
}

type RPCRequest struct {
	Data   Raw    `json:"data,omitempty"`
	Method string `json:"method,omitempty"`
}

type RPCResult struct {
	Data Raw `json:"data,omitempty"`
}

type SendRequest struct {
	Data Raw `json:"data"`
}
