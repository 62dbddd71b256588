// Package centrifuge is the Go client of the Centrifuge server API: publish into
// channels, manage users' connections and subscriptions, read presence, history
// and node information, and sign the connection and subscription tokens that
// browsers connect with.
//
//	c, err := centrifuge.New(centrifuge.Config{Addr: "http://localhost:8000", APIKey: key})
//	if err != nil {
//		return err
//	}
//	res, err := c.Publish(ctx, "news", map[string]string{"text": "hello"})
//
// Every server API operation of openapi.yaml has a method on Client (and, but
// batch, on Batch). The request and result types are the ones generated from
// openapi.yaml into package gen, re-exported here under the same names. Every
// error a Client method returns is an *Error: a method error (HTTP 200 with a
// protocol code), an HTTP error (4xx/5xx, Code is the status) or a failure to
// get an answer at all (StatusCode 0, Err is the cause).
//
// Tokens: ConnectionToken and SubscriptionToken sign HS256 tokens with the
// project's secret; NewRS256Signer and NewES256Signer sign with a private key
// whose public key the project is configured with.
package centrifuge
