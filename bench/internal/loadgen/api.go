package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// API calls a server's HTTP API (POST <base>/<method>, key in X-API-Key).
type API struct {
	base   string
	key    string
	client *http.Client
}

// NewAPI returns a client of the API at base (http://127.0.0.1:8000/api) that
// keeps up to conns connections open.
func NewAPI(base, key string, conns int) *API {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        conns + 2,
		MaxIdleConnsPerHost: conns + 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &API{base: strings.TrimRight(base, "/"), key: key, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// Call posts body to method and returns the response body. An HTTP status
// other than 200 or an "error" member in the reply is an error.
func (a *API) Call(ctx context.Context, method string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/"+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", a.key)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read reply: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, truncate(out, 200))
	}
	if bytes.Contains(out, []byte(`"error"`)) {
		return nil, fmt.Errorf("%s: %s", method, truncate(out, 200))
	}
	return out, nil
}

// publishBody appends a publish request for channelJSON (a JSON string)
// with the load generator's data: send time ts, sequence seq, pad bytes.
func publishBody(b, channelJSON []byte, ts int64, seq uint64, pad int) []byte {
	b = append(b, `{"channel":`...)
	b = append(b, channelJSON...)
	b = append(b, `,"data":`...)
	b = appendData(b, ts, seq, pad)
	return append(b, '}')
}

// broadcastBody appends a broadcast request for channelsJSON (a JSON array of
// strings, encoded once by the caller).
func broadcastBody(b, channelsJSON []byte, ts int64, seq uint64, pad int) []byte {
	b = append(b, `{"channels":`...)
	b = append(b, channelsJSON...)
	b = append(b, `,"data":`...)
	b = appendData(b, ts, seq, pad)
	return append(b, '}')
}

// Info is the part of the info reply the load generator reads, summed over nodes.
type Info struct {
	Nodes       int   `json:"nodes"`
	NumClients  int64 `json:"num_clients"`
	NumSubs     int64 `json:"num_subs"`
	NumChannels int64 `json:"num_channels"`
}

// Info calls the info method.
func (a *API) Info(ctx context.Context) (Info, error) {
	out, err := a.Call(ctx, "info", []byte(`{}`))
	if err != nil {
		return Info{}, err
	}
	var r struct {
		Result struct {
			Nodes []struct {
				NumClients  int64 `json:"num_clients"`
				NumSubs     int64 `json:"num_subs"`
				NumChannels int64 `json:"num_channels"`
			} `json:"nodes"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return Info{}, fmt.Errorf("info: %w", err)
	}
	var info Info
	for _, n := range r.Result.Nodes {
		info.Nodes++
		info.NumClients += n.NumClients
		info.NumSubs += n.NumSubs
		info.NumChannels += n.NumChannels
	}
	return info, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
