package node

import (
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/wippyd/wippyd/transport"
)

// label returns the id that keeps this cluster apart from others on the
// network: cluster.label, or the one every unlabelled node shares.
func (c ClusterConfig) label() string {
	if c.Label == "" {
		return DefaultClusterLabel
	}
	return c.Label
}

// bindAddr is the IP the internode transport listens on.
func (in InternodeConfig) bindAddr(m MembershipConfig) string {
	if in.BindAddr != "" {
		return in.BindAddr
	}
	return m.BindAddr
}

// advertise is the address the transport's handshake gives peers to dial
// back, when it is known before the port is bound: "" (the listener's
// address, an unspecified IP replaced by the one the peer sees) unless an
// advertise address is set and its port is fixed. Peers found through
// gossip dial the member's gossip IP and the port in its meta either way.
func (in InternodeConfig) advertise(m MembershipConfig) string {
	host, port := in.AdvertiseAddr, in.AdvertisePort
	if host == "" {
		host = m.AdvertiseAddr
	}
	if port == 0 {
		port = in.Port
	}
	if host == "" || port == 0 {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// autoPortNetwork is the internode network. With auto set, Listen of
// host:0 tries host:7950 to host:7959 in order and takes the first that
// is free, then an ephemeral port; a port in use is the only error that
// moves it to the next.
type autoPortNetwork struct {
	transport.Network
	auto bool
}

func (a autoPortNetwork) Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if !a.auto || err != nil || port != "0" {
		return a.Network.Listen(addr)
	}
	for p := DefaultInternodePort; p < DefaultInternodePort+InternodePortRange; p++ {
		ln, err := a.Network.Listen(net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	return a.Network.Listen(addr)
}
