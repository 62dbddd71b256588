package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestAppendPublicationPushMatchesEncodePush(t *testing.T) {
	cases := []struct {
		ch  string
		pub Publication
	}{
		{"news", Publication{Data: Raw(`{"a":1}`)}},
		{"$private:x", Publication{Data: Raw("{\n  \"text\": \"two\\nlines <b>&\"\n}\n"), Offset: 42}},
		{"dialog#42,56", Publication{Data: Raw(`"s"`), Info: &ClientInfo{User: "42", Client: "c-1"}}},
		{"chat:ü\"quote\\", Publication{Data: Raw(`[1, 2, 3]`), Info: &ClientInfo{
			User: "\u2028", Client: "c", ConnInfo: Raw(`{"name": "Ann"}`), ChanInfo: Raw(`{"role":"admin"}`),
		}, Tags: map[string]string{"z": "1", "a": "<2>", "m": "\x01"}}},
		{"x", Publication{}},
	}
	for _, tc := range cases {
		got, err := AppendPublicationPush([]byte("prefix"), tc.ch, &tc.pub)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), "prefix") {
			t.Fatalf("dst not kept: %s", got)
		}
		got = got[len("prefix"):]
		if strings.ContainsAny(string(got), "\n\r") {
			t.Fatalf("newline in frame: %q", got)
		}
		want, err := EncodePush(&Push{Channel: tc.ch, Pub: &tc.pub})
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %q: %v", got, err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("channel %q:\n got %s\nwant %s", tc.ch, got, want)
		}
	}
}

func TestAppendPublicationPushChecksWhatItCompacts(t *testing.T) {
	if _, err := AppendPublicationPush(nil, "c", &Publication{Data: Raw("{\"a\":\n")}); err == nil {
		t.Fatal("invalid data accepted")
	}
	if _, err := AppendPublicationPush(nil, "c", &Publication{Data: Raw(`1`), Info: &ClientInfo{ConnInfo: Raw("{\r")}}); err == nil {
		t.Fatal("invalid conn_info accepted")
	}
}

func FuzzAppendPublicationPush(f *testing.F) {
	f.Add("news", []byte(`{"a":1}`), "user", uint64(1), "k", "v")
	f.Add("a\"b", []byte("{\n}"), "\xff", uint64(0), "", "<>")
	f.Fuzz(func(t *testing.T, ch string, data []byte, user string, offset uint64, tk, tv string) {
		if !json.Valid(data) {
			return // callers pass decoded JSON only
		}
		p := &Publication{Data: data, Offset: offset, Info: &ClientInfo{User: user, Client: "c"}, Tags: map[string]string{tk: tv}}
		got, err := AppendPublicationPush(nil, ch, p)
		want, werr := EncodePush(&Push{Channel: ch, Pub: p})
		if (err != nil) != (werr != nil) {
			t.Fatalf("errors differ: %v / %v", err, werr)
		}
		if err != nil {
			return
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %q: %v", got, err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
