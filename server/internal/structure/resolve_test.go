package structure

import (
	"errors"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func TestResolveChannel(t *testing.T) {
	p := &Project{
		Name:       "p",
		Options:    ChannelOptions{Presence: true},
		Namespaces: []Namespace{{Name: "chat", Options: ChannelOptions{HistorySize: 5}}},
	}
	name, opts, err := p.ResolveChannel("chat:$room#1,2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if name.Namespace != "chat" || !name.Private || len(name.Users) != 2 || opts.HistorySize != 5 || opts.Presence {
		t.Fatalf("chat:$room#1,2 resolved to %+v, %+v", name, opts)
	}
	if _, opts, err := p.ResolveChannel("news", 0); err != nil || !opts.Presence {
		t.Fatalf("news: %+v, %v; want the project's options", opts, err)
	}
	for _, tc := range []struct {
		ch     string
		maxLen int
		code   uint32
	}{
		{strings.Repeat("a", 11), 10, protocol.ErrLimitExceeded.Code},
		{"", 0, protocol.ErrBadRequest.Code},
		{"bad channel", 0, protocol.ErrBadRequest.Code},
		{"nope:x", 0, protocol.ErrUnknownChannel.Code},
	} {
		_, _, err := p.ResolveChannel(tc.ch, tc.maxLen)
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != tc.code {
			t.Errorf("ResolveChannel(%q, %d) = %v, want code %d", tc.ch, tc.maxLen, err, tc.code)
		}
	}
}
