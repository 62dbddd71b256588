//go:build !linux

package wstransport

import "github.com/centrifugehq/centrifuge/server/internal/client"

// clientTransport returns t as the client writes it. Off Linux there is no
// non-blocking send(2) path (wstransport_linux.go): the connection is written
// as SockJS and HTTP-streaming connections are, by a goroutine that starts
// when frames are queued, writes them in order with the write timeout, and
// ends when the queue is empty. Ordering, coalescing, the queue limit and the
// close sequence are the same; the flusher is simply not used.
func clientTransport(t *wsTransport) client.Transport { return t }

// pollRead reports that the connection must be read by a goroutine of its
// own: the poller (poller_linux.go) is Linux's.
func (h *Handler) pollRead(*wsTransport, *client.Client) bool { return false }
