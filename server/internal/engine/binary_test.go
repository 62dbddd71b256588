package engine_test

import (
	"bytes"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

func TestBinaryMarkRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		payload string
		binary  bool
	}{
		{`{"a":1}`, false},
		{` [1, 2] `, false},
		{`"text"`, false},
		{"\x00\xff\x80\x01\n\"\xfe", true}, // starts with the mark's own byte
		{"hello", true},                    // UTF-8, not JSON
		{"\xff", true},
	} {
		data := engine.MarkBinary([]byte(tc.payload))
		if !tc.binary && !bytes.Equal(data, []byte(tc.payload)) {
			t.Errorf("%q: JSON payload changed to %q", tc.payload, data)
		}
		raw, binary := engine.SplitBinary(data)
		if binary != tc.binary || !bytes.Equal(raw, []byte(tc.payload)) {
			t.Errorf("%q: split to %q (binary %v), want the payload back (binary %v)", tc.payload, raw, binary, tc.binary)
		}
	}
	if _, binary := engine.SplitBinary(nil); binary {
		t.Error("empty data taken for binary")
	}
}
