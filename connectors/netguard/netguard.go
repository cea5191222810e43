// Package netguard says which addresses the bridge must not connect to when
// a server on the internet (or a user typing a URL) names them: loopback,
// private, link-local, shared (carrier-grade NAT), multicast and
// unspecified ones. Without it a hostile server could turn the bridge into
// a scanner of the network it runs in. Every connector uses this one list,
// so that a range added here is refused by all of them.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

var (
	sharedRange = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
)

// IsPrivate reports addresses a server on the internet has no business
// sending the bridge to. An IPv4 address written as IPv6 (::ffff:10.0.0.1)
// counts as the IPv4 address; an invalid one counts as private.
func IsPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || sharedRange.Contains(ip) || thisNetwork.Contains(ip)
}

// IsPrivateIP is IsPrivate for a net.IP (nil counts as private).
func IsPrivateIP(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	return !ok || IsPrivate(addr)
}

// Control is a net.Dialer Control hook that refuses a private address with
// refusal (wrapped, so errors.Is finds it). It checks the resolved address
// the dialer is about to connect to, so a public host name that resolves
// inside the network is caught too, and no connection is even attempted.
func Control(refusal error) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("dial %q: %w", address, err)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || IsPrivate(addr) {
			return fmt.Errorf("%w: %s", refusal, host)
		}
		return nil
	}
}
