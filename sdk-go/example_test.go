package centrifuge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

func Example() {
	ctx := context.Background()
	c, err := centrifuge.New(centrifuge.Config{Addr: "http://localhost:8000", APIKey: "API_KEY"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Publish(ctx, "news", map[string]string{"text": "hello"})
	if errors.Is(err, centrifuge.ErrUnknownChannel) {
		log.Fatal("no such namespace")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Offset, res.Epoch)
}

func ExampleConnectionToken() {
	token, err := centrifuge.ConnectionToken("PROJECT_SECRET", centrifuge.ConnectionClaims{
		User:      "42",
		ExpiresAt: time.Now().Add(time.Hour),
		Info:      map[string]string{"name": "Alice"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token)
}

func ExampleClient_Batch() {
	ctx := context.Background()
	c, err := centrifuge.New(centrifuge.Config{Addr: "http://localhost:8000", APIKey: "API_KEY"})
	if err != nil {
		log.Fatal(err)
	}
	var b centrifuge.Batch
	b.Publish("news", map[string]string{"text": "hello"})
	b.PresenceStats("news")
	replies, err := c.Batch(ctx, &b)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range replies {
		if err := centrifuge.ReplyError("batch", r.Error); err != nil {
			log.Print(err)
		}
	}
	fmt.Println(replies[1].PresenceStats.NumClients)
}
