package centrifuge

import (
	"github.com/centrifugehq/centrifuge/sdk-go/gen"
)

// Batch collects commands for Client.Batch, which runs them in one request.
// Its methods mirror Client's and take the same options; the zero value is
// an empty batch. A command whose data cannot be encoded makes Client.Batch
// fail without sending anything.
//
//	var b centrifuge.Batch
//	b.Publish("news", data)
//	b.PresenceStats("news")
//	replies, err := c.Batch(ctx, &b) // replies[0].Publish, replies[1].PresenceStats
type Batch struct {
	// Parallel lets the server run the commands concurrently; replies keep
	// the commands' order either way.
	Parallel bool

	commands []gen.Command
	err      error
}

// Len returns the number of commands in b.
func (b *Batch) Len() int { return len(b.commands) }

// Commands returns b's commands as they will be sent.
func (b *Batch) Commands() []Command { return b.commands }

func (b *Batch) add(c gen.Command, err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
	b.commands = append(b.commands, c)
}

// Publish adds a publish command (see Client.Publish).
func (b *Batch) Publish(channel string, data any, opts ...PublishOption) {
	req, err := publishRequest(channel, data, opts)
	b.add(gen.Command{Publish: &req}, err)
}

// Broadcast adds a broadcast command (see Client.Broadcast).
func (b *Batch) Broadcast(channels []string, data any, opts ...PublishOption) {
	req, err := broadcastRequest(channels, data, opts)
	b.add(gen.Command{Broadcast: &req}, err)
}

// Subscribe adds a subscribe command (see Client.Subscribe).
func (b *Batch) Subscribe(user, channel string, opts ...SubscribeOption) {
	req, err := subscribeRequest(user, channel, opts)
	b.add(gen.Command{Subscribe: &req}, err)
}

// Unsubscribe adds an unsubscribe command (see Client.Unsubscribe).
func (b *Batch) Unsubscribe(user, channel string, opts ...UnsubscribeOption) {
	req := unsubscribeRequest(user, channel, opts)
	b.add(gen.Command{Unsubscribe: &req}, nil)
}

// Disconnect adds a disconnect command (see Client.Disconnect).
func (b *Batch) Disconnect(user string, opts ...DisconnectOption) {
	req := disconnectRequest(user, opts)
	b.add(gen.Command{Disconnect: &req}, nil)
}

// Refresh adds a refresh command (see Client.Refresh).
func (b *Batch) Refresh(user string, opts ...RefreshOption) {
	req, err := refreshRequest(user, opts)
	b.add(gen.Command{Refresh: &req}, err)
}

// Presence adds a presence command (see Client.Presence).
func (b *Batch) Presence(channel string) {
	b.add(gen.Command{Presence: &gen.PresenceRequest{Channel: channel}}, nil)
}

// PresenceStats adds a presence_stats command (see Client.PresenceStats).
func (b *Batch) PresenceStats(channel string) {
	b.add(gen.Command{PresenceStats: &gen.PresenceStatsRequest{Channel: channel}}, nil)
}

// History adds a history command (see Client.History).
func (b *Batch) History(channel string, opts ...HistoryOption) {
	req := historyRequest(channel, opts)
	b.add(gen.Command{History: &req}, nil)
}

// HistoryRemove adds a history_remove command (see Client.HistoryRemove).
func (b *Batch) HistoryRemove(channel string) {
	b.add(gen.Command{HistoryRemove: &gen.HistoryRemoveRequest{Channel: channel}}, nil)
}

// Channels adds a channels command (see Client.Channels).
func (b *Batch) Channels(opts ...ChannelsOption) {
	req := channelsRequest(opts)
	b.add(gen.Command{Channels: &req}, nil)
}

// Info adds an info command (see Client.Info).
func (b *Batch) Info() {
	b.add(gen.Command{Info: &gen.InfoRequest{}}, nil)
}
