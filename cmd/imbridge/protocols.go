package main

import (
	"github.com/imbridge/imbridge/bridge/protocol"
)

// protocols lists the protocol connectors built into the binary.
func protocols() []protocol.Protocol {
	return nil
}
