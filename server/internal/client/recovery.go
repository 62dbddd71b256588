package client

import (
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/hub"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Recovery: which publications a resubscribing client missed.

// recoverMissed decides whether every publication after the client's position is
// available; if not, no publications are returned and recovered is false, so the
// client knows to reload state: never a silent gap.
func recoverMissed(req *protocol.SubscribeRequest, hr engine.HistoryResult, maxPubs int) (bool, []*protocol.Publication) {
	top := hr.Position
	if req.Epoch != "" && req.Epoch != top.Epoch {
		return false, nil
	}
	if req.Offset > top.Offset {
		return false, nil
	}
	missed := top.Offset - req.Offset
	if maxPubs > 0 && missed > uint64(maxPubs) {
		return false, nil
	}
	if uint64(len(hr.Publications)) != missed {
		return false, nil
	}
	pubs := make([]*protocol.Publication, len(hr.Publications))
	for i, pub := range hr.Publications {
		if pub.Offset != req.Offset+uint64(i)+1 {
			return false, nil
		}
		pubs[i] = hub.ProtoPublication(pub)
	}
	return true, pubs
}
