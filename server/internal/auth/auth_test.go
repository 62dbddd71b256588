package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

const (
	secretA = "secret-of-project-a-0123456789"
	secretB = "secret-of-project-b-0123456789"
)

type testKeys struct {
	rsa    *rsa.PrivateKey
	rsaPEM string
	ec     *ecdsa.PrivateKey
	ecPEM  string
}

// keys are generated once: RSA generation is slow under -race.
var keys = sync.OnceValue(func() (k testKeys) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	k.rsaPEM = publicPEM(&k.rsa.PublicKey)
	k.ecPEM = publicPEM(&k.ec.PublicKey)
	return k
})

func publicPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func verifier(t testing.TB, p structure.Project) *auth.Verifier {
	t.Helper()
	if p.Name == "" {
		p.Name = "a"
	}
	v, err := auth.NewVerifier(&p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestHS256ConnectRoundTrip(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	info := json.RawMessage(`{"name":"Alice","age":3}`)
	tok, err := auth.NewConnectToken(secretA, "42", time.Hour, info, []string{"news", "chat:lobby"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyConnect(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "42" || string(c.Info) != string(info) || strings.Join(c.Channels, "|") != "news|chat:lobby" {
		t.Fatalf("claims = %+v", c)
	}
	if d := c.ExpireAt - time.Now().Add(time.Hour).Unix(); d < -5 || d > 5 {
		t.Fatalf("ExpireAt %d is not about an hour from now", c.ExpireAt)
	}
}

func TestConnectNoExpiryNoInfo(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	tok, err := auth.NewConnectToken(secretA, "", 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyConnect(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "" || c.ExpireAt != 0 || c.Info != nil || c.Channels != nil {
		t.Fatalf("claims = %+v", c)
	}
}

func TestInfoNullIsNil(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	c, err := v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"sub": "1", "info": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Info != nil {
		t.Fatalf("Info = %q, want nil", c.Info)
	}
}

func TestRS256(t *testing.T) {
	k := keys()
	v := verifier(t, structure.Project{TokenRSAPublicKey: k.rsaPEM})
	c, err := v.VerifyConnect(sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "7", "info": map[string]any{"a": 1}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "7" || string(c.Info) != `{"a":1}` {
		t.Fatalf("claims = %+v", c)
	}
}

func TestES256(t *testing.T) {
	k := keys()
	v := verifier(t, structure.Project{TokenECDSAPublicKey: k.ecPEM})
	c, err := v.VerifyConnect(sign(t, jwt.SigningMethodES256, k.ec, jwt.MapClaims{"sub": "8"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "8" {
		t.Fatalf("claims = %+v", c)
	}
}

func TestAllKeysConfigured(t *testing.T) {
	k := keys()
	v := verifier(t, structure.Project{Secret: secretA, TokenRSAPublicKey: k.rsaPEM, TokenECDSAPublicKey: k.ecPEM})
	for name, tok := range map[string]string{
		"HS256": sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"sub": "1"}),
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "1"}),
		"ES256": sign(t, jwt.SigningMethodES256, k.ec, jwt.MapClaims{"sub": "1"}),
	} {
		if _, err := v.VerifyConnect(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAlgNoneRejected(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	tok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "1"})
	_, err := v.VerifyConnect(tok)
	wantErr(t, err, auth.ErrInvalidToken)

	// Same with a handcrafted header and an empty signature.
	_, err = v.VerifyConnect("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.")
	wantErr(t, err, auth.ErrInvalidToken)
}

func TestOtherProjectSecretRejected(t *testing.T) {
	a := verifier(t, structure.Project{Name: "a", Secret: secretA})
	tok, err := auth.NewConnectToken(secretB, "1", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.VerifyConnect(tok)
	wantErr(t, err, auth.ErrInvalidToken)
}

func TestAlgorithmPinned(t *testing.T) {
	k := keys()
	hsOnly := verifier(t, structure.Project{Secret: secretA})
	_, err := hsOnly.VerifyConnect(sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "1"}))
	wantErr(t, err, auth.ErrInvalidToken)
	_, err = hsOnly.VerifyConnect(sign(t, jwt.SigningMethodHS512, []byte(secretA), jwt.MapClaims{"sub": "1"}))
	wantErr(t, err, auth.ErrInvalidToken)

	rsOnly := verifier(t, structure.Project{TokenRSAPublicKey: k.rsaPEM})
	_, err = rsOnly.VerifyConnect(sign(t, jwt.SigningMethodES256, k.ec, jwt.MapClaims{"sub": "1"}))
	wantErr(t, err, auth.ErrInvalidToken)
}

// The classic key confusion attack: an HS256 token whose HMAC key is the
// public RSA key, which an attacker knows.
func TestHMACWithPublicKeyRejected(t *testing.T) {
	k := keys()
	forged := sign(t, jwt.SigningMethodHS256, []byte(k.rsaPEM), jwt.MapClaims{"sub": "admin"})
	for name, p := range map[string]structure.Project{
		"rsa only":      {TokenRSAPublicKey: k.rsaPEM},
		"rsa and hmac":  {Secret: secretA, TokenRSAPublicKey: k.rsaPEM},
		"ecdsa only":    {TokenECDSAPublicKey: k.ecPEM},
		"ecdsa and rsa": {TokenECDSAPublicKey: k.ecPEM, TokenRSAPublicKey: k.rsaPEM},
	} {
		_, err := verifier(t, p).VerifyConnect(forged)
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want invalid token", name, err)
		}
	}
}

func TestExpired(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	past := time.Now().Add(-time.Minute).Unix()
	_, err := v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"sub": "1", "exp": past}))
	wantErr(t, err, auth.ErrTokenExpired)
	_, err = v.VerifySubscribe(sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"sub": "1", "channel": "$x", "exp": past}))
	wantErr(t, err, auth.ErrTokenExpired)

	// An expired token with a bad signature is invalid, not expired.
	_, err = v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretB), jwt.MapClaims{"sub": "1", "exp": past}))
	wantErr(t, err, auth.ErrInvalidToken)
	if errors.Is(err, auth.ErrTokenExpired) {
		t.Fatal("forged expired token reported as expired")
	}
}

func TestExpireAtClaim(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	exp := time.Now().Add(time.Hour).Unix()
	at := time.Now().Add(10 * time.Hour).Unix()
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		want   int64
	}{
		{"exp only", jwt.MapClaims{"exp": exp}, exp},
		{"expire_at wins", jwt.MapClaims{"exp": exp, "expire_at": at}, at},
		{"expire_at 0 never expires", jwt.MapClaims{"exp": exp, "expire_at": 0}, 0},
		{"neither", jwt.MapClaims{}, 0},
	} {
		c, err := v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretA), tc.claims))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.ExpireAt != tc.want {
			t.Errorf("%s: ExpireAt = %d, want %d", tc.name, c.ExpireAt, tc.want)
		}
	}
	_, err := v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"expire_at": -1}))
	wantErr(t, err, auth.ErrInvalidToken)
}

func TestBadClaimTypes(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	for name, claims := range map[string]jwt.MapClaims{
		"numeric sub":     {"sub": 42},
		"string exp":      {"exp": "tomorrow"},
		"channels object": {"channels": map[string]any{"a": 1}},
		"channel claim":   {"channel": "news"}, // a subscription token
	} {
		_, err := v.VerifyConnect(sign(t, jwt.SigningMethodHS256, []byte(secretA), claims))
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want invalid token", name, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	good, err := auth.NewConnectToken(secretA, "1", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{
		"", "abc", "a.b.c", "...", good + "x", good[:len(good)-3],
		strings.Repeat("a", auth.MaxTokenLength+1),
	} {
		_, err := v.VerifyConnect(tok)
		wantErr(t, err, auth.ErrInvalidToken)
	}
	// Too long even though correctly signed.
	long, err := auth.NewConnectToken(secretA, strings.Repeat("u", auth.MaxTokenLength), time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyConnect(long)
	wantErr(t, err, auth.ErrInvalidToken)
}

func TestSubscribeToken(t *testing.T) {
	v := verifier(t, structure.Project{Secret: secretA})
	tok, err := auth.NewSubscribeToken(secretA, "42", "$private", time.Hour, json.RawMessage(`"vip"`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifySubscribe(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "42" || c.Channel != "$private" || string(c.Info) != `"vip"` || c.ExpireAt == 0 {
		t.Fatalf("claims = %+v", c)
	}

	// A subscription token is not a connection token, and the reverse.
	_, err = v.VerifyConnect(tok)
	wantErr(t, err, auth.ErrInvalidToken)
	conn, err := auth.NewConnectToken(secretA, "42", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifySubscribe(conn)
	wantErr(t, err, auth.ErrInvalidToken)

	_, err = v.VerifySubscribe(sign(t, jwt.SigningMethodHS256, []byte(secretA), jwt.MapClaims{"sub": "42", "channel": ""}))
	wantErr(t, err, auth.ErrInvalidToken)

	other, err := auth.NewSubscribeToken(secretB, "42", "$private", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifySubscribe(other)
	wantErr(t, err, auth.ErrInvalidToken)

	if _, err := auth.NewSubscribeToken(secretA, "42", "", time.Hour, nil); err == nil {
		t.Fatal("NewSubscribeToken accepted an empty channel")
	}
}

func TestNewTokenErrors(t *testing.T) {
	if _, err := auth.NewConnectToken("", "1", 0, nil, nil); err == nil {
		t.Error("empty secret accepted")
	}
	if _, err := auth.NewConnectToken(secretA, "1", 0, json.RawMessage(`{bad`), nil); err == nil {
		t.Error("invalid info accepted")
	}
	if _, err := auth.NewConnectToken(secretA, "1", -time.Second, nil, nil); err == nil {
		t.Error("negative ttl accepted")
	}
}

func TestNewVerifierErrors(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]structure.Project{
		"no keys":     {Name: "a"},
		"bad rsa pem": {Name: "a", TokenRSAPublicKey: "not a pem"},
		"bad ec pem":  {Name: "a", TokenECDSAPublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
		"rsa as ec":   {Name: "a", TokenECDSAPublicKey: keys().rsaPEM},
		"p384 key":    {Name: "a", TokenECDSAPublicKey: publicPEM(&p384.PublicKey)},
	} {
		if _, err := auth.NewVerifier(&p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestKeyEqual(t *testing.T) {
	for _, tc := range []struct {
		expected, got string
		want          bool
	}{
		{"key-0123456789abcdef", "key-0123456789abcdef", true},
		{"key-0123456789abcdef", "key-0123456789abcdeg", false},
		{"key-0123456789abcdef", "key", false},
		{"key-0123456789abcdef", "", false},
		{"", "", false},
		{"", "anything", false},
	} {
		if got := auth.KeyEqual(tc.expected, tc.got); got != tc.want {
			t.Errorf("KeyEqual(%q, %q) = %v, want %v", tc.expected, tc.got, got, tc.want)
		}
	}
}

func TestVerifiersCache(t *testing.T) {
	var vs auth.Verifiers
	p := &structure.Project{Name: "a", Secret: secretA}
	v1, err := vs.Get(p)
	if err != nil {
		t.Fatal(err)
	}
	if v2, _ := vs.Get(p); v2 != v1 {
		t.Fatal("same project pointer: verifier rebuilt")
	}

	// The registry replaced the project: new secret, new pointer.
	p2 := &structure.Project{Name: "a", Secret: secretB}
	v3, err := vs.Get(p2)
	if err != nil {
		t.Fatal(err)
	}
	if v3 == v1 {
		t.Fatal("new project pointer: verifier not rebuilt")
	}
	tok, err := auth.NewConnectToken(secretB, "1", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v3.VerifyConnect(tok); err != nil {
		t.Fatalf("rebuilt verifier: %v", err)
	}

	if _, err := vs.Get(&structure.Project{Name: "bad", TokenRSAPublicKey: "junk"}); err == nil {
		t.Fatal("bad key accepted")
	}
}

func TestVerifiersConcurrent(t *testing.T) {
	var vs auth.Verifiers
	projects := []*structure.Project{
		{Name: "a", Secret: secretA},
		{Name: "b", Secret: secretB},
	}
	tokA, _ := auth.NewConnectToken(secretA, "1", time.Hour, nil, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 50 {
				p := projects[i%2]
				v, err := vs.Get(p)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = v.VerifyConnect(tokA)
				if (p.Name == "a") != (err == nil) {
					t.Errorf("project %s: err = %v", p.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzVerifyConnect(f *testing.F) {
	k := keys()
	v := verifier(f, structure.Project{Secret: secretA, TokenRSAPublicKey: k.rsaPEM, TokenECDSAPublicKey: k.ecPEM})
	good, err := auth.NewConnectToken(secretA, "42", time.Hour, json.RawMessage(`{"a":[1,2]}`), []string{"x"})
	if err != nil {
		f.Fatal(err)
	}
	sub, err := auth.NewSubscribeToken(secretA, "42", "$c", time.Hour, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		good, sub, "", ".", "..", "a.b.c",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.",
		"eyJhbGciOiJIUzI1NiJ9.bnVsbA.AAAA",
		sign(f, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "1"}),
		sign(f, jwt.SigningMethodES256, k.ec, jwt.MapClaims{"sub": "1", "expire_at": 5}),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		_, err := v.VerifyConnect(tok)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("unclassified error %v", err)
		}
		_, err = v.VerifySubscribe(tok)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
