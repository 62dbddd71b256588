package app

import (
	"net/http"
	"strings"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// guard bounds every request's input and output in time: the body is read
// within http.read_body_timeout (headers and idle keep-alives are bounded by
// the http.Server itself), and responses other than the client transports'
// streams are written within http.write_timeout.
func guard(h http.Handler, cfg config.HTTP) http.Handler {
	h = transport.WriteDeadline(h, cfg.WriteTimeout.D(), isStream)
	return transport.BodyDeadline(h, cfg.ReadBodyTimeout.D())
}

// isStream reports whether r opens (or may open) a long-lived client
// transport, whose writes are bounded one by one.
func isStream(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/connection/")
}
