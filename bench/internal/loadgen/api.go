package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

// API calls a server's HTTP API with sdk-go, over a connection pool sized for
// the publishers.
type API struct {
	c *centrifuge.Client
}

// NewAPI returns a client of the API of the server at addr
// (http://127.0.0.1:8000) that keeps up to conns connections open.
func NewAPI(addr, key string, conns int) (*API, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        conns + 2,
		MaxIdleConnsPerHost: conns + 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	c, err := centrifuge.New(centrifuge.Config{
		Addr:       addr,
		APIKey:     key,
		HTTPClient: &http.Client{Transport: tr, Timeout: 60 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	return &API{c: c}, nil
}

// Publish publishes data (JSON) into channel.
func (a *API) Publish(ctx context.Context, channel string, data []byte) error {
	_, err := a.c.Publish(ctx, channel, json.RawMessage(data))
	return err
}

// Broadcast publishes data (JSON) into channels. It returns how many channels
// took the publication and, when some did not, the first of their errors.
func (a *API) Broadcast(ctx context.Context, channels []string, data []byte) (int, error) {
	res, err := a.c.Broadcast(ctx, channels, json.RawMessage(data))
	if err != nil {
		return 0, err
	}
	if len(res.Responses) != len(channels) {
		return 0, errors.New("broadcast: one response per channel expected")
	}
	ok := 0
	for _, r := range res.Responses {
		if e := centrifuge.ReplyError("broadcast", r.Error); e != nil {
			if err == nil {
				err = e
			}
			continue
		}
		ok++
	}
	return ok, err
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
	r, err := a.c.Info(ctx)
	if err != nil {
		return Info{}, err
	}
	var info Info
	for _, n := range r.Nodes {
		info.Nodes++
		info.NumClients += int64(n.NumClients)
		info.NumSubs += int64(n.NumSubs)
		info.NumChannels += int64(n.NumChannels)
	}
	return info, nil
}
