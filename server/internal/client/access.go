package client

import (
	"github.com/centrifugehq/centrifuge/server/internal/channel"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// mayReadUnsubscribed decides whether user, not subscribed to a channel, may
// read its history or presence under allow_history_for_client or
// allow_presence_for_client: only if it could subscribe to it without a
// subscription token or the subscribe proxy (the rules of handleSubscribe's
// default case). A private channel, or one behind the subscribe proxy, is
// read by its subscribers only.
func mayReadUnsubscribed(name channel.Name, opts structure.ChannelOptions, user string) error {
	switch {
	case name.Private:
		return protocol.ErrPermissionDenied.WithMessage("private channel: subscribe first")
	case opts.SubscribeProxy != nil && opts.ProxySubscribe:
		return protocol.ErrPermissionDenied.WithMessage("channel subscriptions go through the subscribe proxy: subscribe first")
	case !opts.AllowSubscribeForClient:
		return protocol.ErrPermissionDenied
	case user == "" && !opts.AllowAnonymous:
		return protocol.ErrPermissionDenied.WithMessage("anonymous clients may not read this channel")
	case opts.AllowUserLimitedChannels && !name.UserAllowed(user):
		return protocol.ErrPermissionDenied
	}
	return nil
}
