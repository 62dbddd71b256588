package centrifuge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

// TestTokensAccepted: tokens made by the helpers connect and subscribe, with
// their claims in effect, for every algorithm.
func TestTokensAccepted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		ctx := bg(t)
		api := s.client(t, "")

		t.Run("HS256 connection token with every claim", func(t *testing.T) {
			user, ch := uniq("u"), uniq("claims")
			tok, err := centrifuge.ConnectionToken(secret, centrifuge.ConnectionClaims{
				User:      user,
				ExpiresAt: time.Now().Add(time.Minute),
				IssuedAt:  time.Now().Add(-time.Second),
				Info:      map[string]string{"name": "Bob"},
				Channels:  []string{ch},
				ExpireAt:  time.Now().Add(2 * time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			ws := dialWS(t, s, "")
			r, code := ws.connect(tok)
			if code != 0 || r.Error != nil {
				t.Fatalf("close %d error %+v", code, r.Error)
			}
			var res struct {
				Expires bool `json:"expires"`
				TTL     int  `json:"ttl"`
			}
			_ = json.Unmarshal(r.Result, &res)
			// expire_at, not exp, is the connection's expiry.
			if !res.Expires || res.TTL < 7000 {
				t.Fatalf("connect result %s", r.Result)
			}
			if ws.Subs[ch] == nil {
				t.Fatalf("channels claim: subs %v", ws.Subs)
			}
			p, err := api.Presence(ctx, ch)
			if err != nil || p.Presence[ws.Client].User != user || string(p.Presence[ws.Client].ConnInfo) != `{"name":"Bob"}` {
				t.Fatalf("presence %+v %v", p, err)
			}
		})

		t.Run("anonymous token without exp", func(t *testing.T) {
			tok, err := centrifuge.ConnectionToken(secret, centrifuge.ConnectionClaims{})
			if err != nil {
				t.Fatal(err)
			}
			ws := dialWS(t, s, "")
			if r, code := ws.connect(tok); code != 0 || r.Error != nil {
				t.Fatalf("close %d error %+v", code, r.Error)
			}
		})

		t.Run("another project with its own secret", func(t *testing.T) {
			tok, err := centrifuge.ConnectionToken(otherSecret, centrifuge.ConnectionClaims{User: "1"})
			if err != nil {
				t.Fatal(err)
			}
			mustConnect(t, s, "other", tok)
		})

		t.Run("subscription token for a private channel", func(t *testing.T) {
			user, ch := uniq("u"), "$"+uniq("private")
			ws := mustConnect(t, s, "", token(t, user, nil))
			r, _ := ws.call("subscribe", map[string]string{"channel": ch})
			if r.Error == nil || r.Error.Code != 103 {
				t.Fatalf("without a token: %+v", r)
			}
			sub, err := centrifuge.SubscriptionToken(secret, centrifuge.SubscriptionClaims{
				User: user, Channel: ch, ExpiresAt: time.Now().Add(time.Hour), Info: map[string]int{"seat": 7},
			})
			if err != nil {
				t.Fatal(err)
			}
			if r, code := ws.call("subscribe", map[string]string{"channel": ch, "token": sub}); code != 0 || r.Error != nil {
				t.Fatalf("with a token: close %d %+v", code, r.Error)
			}
			p, err := api.Presence(ctx, ch)
			if err != nil || string(p.Presence[ws.Client].ChanInfo) != `{"seat":7}` {
				t.Fatalf("presence %+v %v", p, err)
			}
		})

		t.Run("RS256 and ES256", func(t *testing.T) {
			rs, err := centrifuge.NewRS256Signer(rsaKey)
			if err != nil {
				t.Fatal(err)
			}
			es, err := centrifuge.NewES256Signer(ecKey)
			if err != nil {
				t.Fatal(err)
			}
			for _, signer := range []*centrifuge.TokenSigner{rs, es} {
				user := uniq("u")
				tok, err := signer.ConnectionToken(centrifuge.ConnectionClaims{User: user, ExpiresAt: time.Now().Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				ws := mustConnect(t, s, "keys", tok)
				sub, err := signer.SubscriptionToken(centrifuge.SubscriptionClaims{User: user, Channel: "$k"})
				if err != nil {
					t.Fatal(err)
				}
				if r, code := ws.call("subscribe", map[string]string{"channel": "$k", "token": sub}); code != 0 || r.Error != nil {
					t.Fatalf("subscribe: close %d %+v", code, r.Error)
				}
			}
		})
	})
}

// TestTokensRefused: a wrong secret, another project's secret, another key or
// a past expiry are refused: close 3500 (invalid token) or error 109 (expired).
func TestTokensRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := centrifuge.NewRS256Signer(otherRSA)
		es, _ := centrifuge.NewES256Signer(otherEC)
		hour := time.Now().Add(time.Hour)
		conn := func(secret string, c centrifuge.ConnectionClaims) string {
			tok, err := centrifuge.ConnectionToken(secret, c)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		signed := func(s *centrifuge.TokenSigner) string {
			tok, err := s.ConnectionToken(centrifuge.ConnectionClaims{User: "1", ExpiresAt: hour})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		cases := []struct {
			name      string
			project   string
			token     string
			closeCode int
			errCode   uint32
		}{
			{"wrong secret", "", conn("wrong-secret-0123456789", centrifuge.ConnectionClaims{User: "1", ExpiresAt: hour}), 3500, 0},
			{"another project's secret", "", conn(otherSecret, centrifuge.ConnectionClaims{User: "1", ExpiresAt: hour}), 3500, 0},
			{"default's secret on another project", "other", conn(secret, centrifuge.ConnectionClaims{User: "1", ExpiresAt: hour}), 3500, 0},
			{"past exp", "", conn(secret, centrifuge.ConnectionClaims{User: "1", ExpiresAt: time.Now().Add(-time.Minute)}), 0, 109},
			{"past expire_at", "", conn(secret, centrifuge.ConnectionClaims{User: "1", ExpireAt: time.Now().Add(-time.Minute)}), 0, 109},
			{"RS256 with another key", "keys", signed(rs), 3500, 0},
			{"ES256 with another key", "keys", signed(es), 3500, 0},
			{"HS256 where only keys are configured", "keys", conn(secret, centrifuge.ConnectionClaims{User: "1"}), 3500, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ws := dialWS(t, s, tc.project)
				r, code := ws.connect(tc.token)
				if tc.closeCode != 0 {
					if code != tc.closeCode {
						t.Fatalf("close %d (reply %+v), want %d", code, r, tc.closeCode)
					}
					return
				}
				if r.Error == nil || r.Error.Code != tc.errCode {
					t.Fatalf("reply %+v close %d, want error %d", r, code, tc.errCode)
				}
			})
		}

		t.Run("subscription token with a wrong secret", func(t *testing.T) {
			user := uniq("u")
			ws := mustConnect(t, s, "", token(t, user, nil))
			sub, err := centrifuge.SubscriptionToken(otherSecret, centrifuge.SubscriptionClaims{User: user, Channel: "$x"})
			if err != nil {
				t.Fatal(err)
			}
			if _, code := ws.call("subscribe", map[string]string{"channel": "$x", "token": sub}); code != 3500 {
				t.Fatalf("close %d", code)
			}
		})
	})
}

func TestTokenHelperErrors(t *testing.T) {
	if _, err := centrifuge.ConnectionToken("", centrifuge.ConnectionClaims{}); err == nil {
		t.Fatal("empty secret")
	}
	if _, err := centrifuge.SubscriptionToken(secret, centrifuge.SubscriptionClaims{User: "1"}); err == nil {
		t.Fatal("subscription token without channel")
	}
	if _, err := centrifuge.ConnectionToken(secret, centrifuge.ConnectionClaims{Info: json.RawMessage("{")}); err == nil {
		t.Fatal("invalid info JSON")
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := centrifuge.NewES256Signer(p384); err == nil {
		t.Fatal("ES256 with a P-384 key")
	}
	if _, err := centrifuge.NewRS256Signer(nil); err == nil {
		t.Fatal("nil RSA key")
	}
}

// TestTokenClaims: the JSON claims are the ones of PROTOCOL.md section 6.
func TestTokenClaims(t *testing.T) {
	now := time.Unix(1767225600, 0)
	tok, err := centrifuge.ConnectionToken(secret, centrifuge.ConnectionClaims{
		User: "42", ExpiresAt: now.Add(time.Hour), IssuedAt: now, Info: map[string]int{"a": 1},
		Channels: []string{"news"}, ExpireAt: time.Unix(0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"channels":["news"],"exp":1767229200,"expire_at":0,"iat":1767225600,"info":{"a":1},"sub":"42"}`
	if got := claimsJSON(t, tok); got != want {
		t.Fatalf("connection claims\n got %s\nwant %s", got, want)
	}
	tok, err = centrifuge.SubscriptionToken(secret, centrifuge.SubscriptionClaims{User: "42", Channel: "$c", IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"channel":"$c","iat":1767225600,"sub":"42"}`
	if got := claimsJSON(t, tok); got != want {
		t.Fatalf("subscription claims\n got %s\nwant %s", got, want)
	}
}

// claimsJSON returns the token's payload re-encoded with sorted keys.
func claimsJSON(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(m)
	return string(out)
}
