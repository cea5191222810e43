package main

import (
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/connectors/lync"
	"github.com/imbridge/imbridge/connectors/skype"
	"github.com/imbridge/imbridge/connectors/teams"
)

// protocols lists the protocol connectors built into the binary.
func protocols() []protocol.Protocol {
	return []protocol.Protocol{lync.New(), skype.New(), teams.New()}
}
