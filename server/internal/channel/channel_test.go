package channel_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/channel"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want channel.Name
	}{
		{"news", channel.Name{Full: "news"}},
		{"chat:room", channel.Name{Full: "chat:room", Namespace: "chat"}},
		{"$secret", channel.Name{Full: "$secret", Private: true}},
		{"chat:$secret", channel.Name{Full: "chat:$secret", Namespace: "chat", Private: true}},
		{"news#42", channel.Name{Full: "news#42", Users: []string{"42"}}},
		{"dialog#42,56", channel.Name{Full: "dialog#42,56", Users: []string{"42", "56"}}},
		{"chat:dialog#42,56", channel.Name{Full: "chat:dialog#42,56", Namespace: "chat", Users: []string{"42", "56"}}},
		{"a:b:c", channel.Name{Full: "a:b:c", Namespace: "a"}},
	} {
		got, err := channel.Parse(tc.in, 0)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]error{
		"":                       channel.ErrEmpty,
		strings.Repeat("a", 256): channel.ErrTooLong,
		"with space":             channel.ErrBadChars,
		"ünicode":                channel.ErrBadChars,
		"tab\there":              channel.ErrBadChars,
		"news#":                  channel.ErrBadUsers,
		"dialog#42,,56":          channel.ErrBadUsers,
		"dialog#42,":             channel.ErrBadUsers,
	} {
		if _, err := channel.Parse(in, 0); !errors.Is(err, want) {
			t.Errorf("%q: err = %v, want %v", in, err, want)
		}
	}
	if _, err := channel.Parse("abcdef", 5); !errors.Is(err, channel.ErrTooLong) {
		t.Errorf("custom limit: %v", err)
	}
}

func TestUserAllowed(t *testing.T) {
	n, _ := channel.Parse("dialog#42,56", 0)
	if !n.UserAllowed("42") || !n.UserAllowed("56") || n.UserAllowed("7") || n.UserAllowed("") {
		t.Fatal("user list not honoured")
	}
	open, _ := channel.Parse("news", 0)
	if !open.UserAllowed("") || !open.UserAllowed("7") {
		t.Fatal("open channel must allow everyone")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"news", "chat:room", "$p", "d#1,2", "ns:$d#1", "#", ":", "a:#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := channel.Parse(s, 0)
		if err != nil {
			return
		}
		if n.Full != s || len(s) > channel.DefaultMaxLength {
			t.Fatalf("bad parse of %q: %+v", s, n)
		}
		for _, u := range n.Users {
			if u == "" {
				t.Fatalf("empty user in %q", s)
			}
		}
		if strings.Contains(n.Namespace, ":") {
			t.Fatalf("namespace with separator in %q", s)
		}
	})
}
