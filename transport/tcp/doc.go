// Package tcp is the TCP implementation of transport.Network: listening,
// dialing with the context's deadline, and socket options.
//
// Everything above the socket — framing, the handshake, sessions, the
// per-peer send queue and writer, deadlines on reads and writes, reconnect
// backoff — lives in package transport, shared with the in-memory twin
// (transport/memnet), so the contract tests in transport/transporttest
// exercise the same code over both networks.
//
// Usage:
//
//	nw, _ := tcp.New(tcp.DefaultConfig())
//	cfg := transport.DefaultConfig()
//	cfg.Name, cfg.BindAddr = "n1", "0.0.0.0:7950"
//	ep, _ := transport.New(cfg, nw)
//
// A Network holds no state besides its Config: one may serve any number of
// endpoints.
package tcp
