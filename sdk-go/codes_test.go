package centrifuge_test

import (
	"errors"
	"testing"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

func TestTemporaryFollowsTheServersList(t *testing.T) {
	for _, tc := range []struct {
		err  *centrifuge.Error
		want bool
	}{
		{&centrifuge.Error{StatusCode: 200, Code: 100}, true},
		{&centrifuge.Error{StatusCode: 200, Code: 111}, true},
		{&centrifuge.Error{StatusCode: 200, Code: 102}, false},
		{&centrifuge.Error{StatusCode: 503, Code: 503}, false},
		{&centrifuge.Error{Err: errors.New("refused")}, false},
	} {
		if got := tc.err.Temporary(); got != tc.want {
			t.Errorf("%+v: Temporary() = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !errors.Is(&centrifuge.Error{StatusCode: 200, Code: 111}, centrifuge.ErrTooManyRequests) {
		t.Error("errors.Is does not match the generated sentinel")
	}
}

func TestDisconnectReconnects(t *testing.T) {
	for code, want := range map[uint32]bool{
		centrifuge.DisconnectCodeShutdown: true, centrifuge.DisconnectCodeForceNoReconnect: false,
		4000: true, 4499: true, 4500: false, 3500: false, 3499: true,
	} {
		if got := centrifuge.DisconnectReconnects(code); got != want {
			t.Errorf("DisconnectReconnects(%d) = %v, want %v", code, got, want)
		}
	}
}
