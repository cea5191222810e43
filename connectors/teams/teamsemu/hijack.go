package teamsemu

import (
	"bufio"
	"net"
)

type (
	netConn = net.Conn
	bufioRW = bufio.ReadWriter
)
