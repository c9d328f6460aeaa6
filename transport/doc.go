// Package transport is the internode transport of wippyd: framed,
// authenticated, ordered and loss-free (within a bound) message streams
// between named nodes, over any Network (transport/tcp for real sockets,
// transport/memnet in memory for tests).
//
// # Use
//
//	cfg := transport.DefaultConfig()
//	cfg.Name, cfg.BindAddr, cfg.SecretKey = "n1", "0.0.0.0:7950", key
//	cfg.Members = memberTable // which node lives may connect
//	ep, err := transport.New(cfg, tcpNetwork)
//	ep.Register(transport.StreamCluster, func(from transport.Peer, body []byte) { ... })
//	ep.Register(transport.StreamRaft, raftHandler)
//	ep.OnSessionLost(func(ev transport.SessionEvent) { /* noconnection for ev.Peer */ })
//	ep.Start()
//	ep.Connect("n2", "10.0.0.2:7950") // from membership
//	ep.Send("n2", transport.StreamCluster, body)
//	ep.Abandon("n2")                  // membership declared n2 dead
//	ep.Close()
//
// The upper layers own the bodies (usually msgpack they encode
// themselves); the transport only frames and orders them. A stream whose
// handler decodes each body and keeps none of it is registered with
// RegisterTransient (the cluster stream is): its frames are then read
// into the same buffers again, and a steady stream of them allocates no
// read buffers. Send queues likewise refill acknowledged buffers: each
// keeps a few (16 of 32 KiB) and offers the rest to one pool of the
// process, so a burst of several megabytes (a sender's whole window) is
// encoded into chunks an earlier burst left, and the garbage collector
// empties the pool when the bursts stop.
//
// # Peers, connections and sessions
//
// A peer is a node name; a peer life is a name plus the boot id drawn when
// that node started (Peer). Each endpoint dials every peer it has an
// address for. An endpoint learns a peer's address from Connect or from
// the peer's handshake, so one side calling Connect is enough for traffic
// both ways. Normally one connection, the one dialed by the node whose
// name sorts first, carries both nodes' frames (see Duplex connections
// below); with a peer that cannot (Config.OneWay, or a node from before
// duplex connections) there is one connection per direction: each side
// sends its frames on the connection it dialed, and the acceptor only
// sends acks back.
//
// A session is the relationship with one peer life. Data frames carry a
// per-session sequence number; the acceptor acks cumulatively. Frames stay
// in the sender's queue until acked, bounded by Config.SendQueueBytes; when
// a connection breaks, the dialer reconnects with backoff (10ms doubling
// to 5s; a handshake from the peer cuts the wait short, since the peer is
// up again), the handshake tells it where the acceptor stands, and it
// replays from there. The receiver drops duplicates. So within the bound nothing is
// lost, duplicated or reordered across reconnects.
//
// A session is abandoned, and OnSessionLost fires on both sides, when:
//   - the upper layer calls Abandon or Forget (the peer declared dead);
//   - a Send would exceed SendQueueBytes (the Send gets ErrQueueFull);
//   - the peer shows up with a new boot id (it restarted).
//
// The unacknowledged frames are dropped, counted in Stats by reason and in
// SessionEvent.Dropped; the other side learns of the abandonment at the
// next handshake (each side keeps a generation number per pair and bumps
// it when it abandons), reports its own loss, and both start a fresh
// session numbered from 0. A loss is never silent.
//
// # Duplex connections
//
// When both sides of a handshake say they can (the hello's and the
// welcome's "duplex"), the connection dialed by the node whose name sorts
// first, L, carries the frames of both: the other node, H, writes its data
// frames on the connection it accepted from L, and each side's acks go
// out on the same connection, written by that side's writer with its
// data. A reply then travels on the TCP segment that acknowledges the
// request: over the loopback a request/reply takes two segments instead
// of three, and its round trip about 2.5 µs less (BENCHMARKS.md).
//
// L's first frame after its proof (sealed like every later one) is an ack:
// the first of H's frames L has not received. It makes the connection H's
// carrier: H resumes its queue from there, as a dialer resumes from a
// welcome, and needs no connection of its own while this one lasts (one
// it had is closed, and it does not dial). When the connection ends, H
// dials L again, as one-way connections do, and sends on its own
// connection until L's next connection takes over. A change of carrier
// always resumes from what the receiver has, and the old connection takes
// no frame after it, so frames are still delivered once and in order:
// the receiver drops the duplicates of a replay, whichever connection
// they come on.
//
// # Delivery order and concurrency
//
// For one peer, handlers and session hooks are called one at a time, in
// order: OnSessionUp for a peer life, then its frames in Send order (across
// all streams), then OnSessionLost, then the next life's OnSessionUp.
// Frames are usually delivered by the goroutine that read them (no
// hand-off); session events, and frames arriving while a delivery is under
// way, go through a per-peer delivery goroutine. Different peers are
// delivered concurrently. Handlers and hooks may call Send, Connect,
// Abandon and Forget, but not Close; a slow handler delays its peer only:
// the connection is not read meanwhile (beyond Config.RecvQueueBytes
// queued), which pushes back on the sender.
//
// A handler may leave work to the reader that is delivering its frame
// (Endpoint.Defer): when that read brought at most a couple of frames
// and the reader delivers them itself, it runs the work after their
// delivery, before it reads again. The cluster stream runs the process a
// message readied that way, so a request answered at once costs no
// wake-up of another goroutine. Work that may block first calls the
// detach function it is given: the reading goes on in a new goroutine
// (Stats.ReadersDetached), and the old one, no longer one of the
// endpoint's, ends when the work does.
//
// Every Endpoint method is safe for concurrent use. Register and the On*
// hooks must be called before Start. Close is idempotent and returns after
// every goroutine the endpoint started has ended, except readers detached
// for deferred work that is still blocked.
//
// # Writes and acks
//
// Each connection that carries a side's frames (its outbound one, or the
// duplex one it accepted) has a writer goroutine of that side that writes
// whatever is queued in one write. A frame sent while that writer waits with nothing
// queued, on a plain TCP connection, is written by Send itself in one
// non-blocking write (unless another such write ended within 10 µs: the
// rest of a burst goes to the writer, which batches it); what the socket
// does not take stays queued for the writer. A request thus reaches the
// socket without a goroutine switch; the connection, its errors and
// sealed connections stay the writer's. Nagle is off (Go's default for
// TCP). The receiving side acks every 512 frames or 64 KiB, anything less
// within 2 ms; its reader wakes the ack goroutine only when an ack is due
// or none is scheduled, so a request/reply stream does not wake it per
// frame. On a one-way connection the acceptor's ack goroutine writes the
// ack; on a duplex one it hands it to the connection's writer, which
// writes it after the data it has (a frame a direct write left half
// written is finished first).
//
// # Wire format
//
// A frame is a 4-byte big-endian body length, a 1-byte frame type and a
// msgpack body of at most Config.MaxFrame bytes (64 KiB until the
// handshake is done). A longer frame, an unknown type or a malformed body
// drops the connection, logged, and the endpoint keeps serving others.
// Frame types (never renumbered): 1 hello, 2 welcome, 3 proof, 4 reject,
// 5 data [seq, stream, bin], 6 ack [next seq], 7 ping [], 8 sealed. On a
// one-way connection data and pings go from dialer to acceptor and acks
// back; on a duplex one data, acks and pings go both ways.
//
// The handshake: the dialer sends hello (protocol version range, cluster
// name, its name and the name it wants, boot id, generation, advertised
// address, a random nonce, its streams, its max frame, whether it can do
// duplex); the acceptor answers welcome (the highest common version, its
// name, boot id, generation, the sequence number it expects next, its
// nonce, its streams, its max frame, whether it can do duplex) and a
// proof; the dialer checks it and sends its own
// proof. Another cluster name, no common version, a name mismatch, or (with
// Config.Members) a name and boot id that are not a current member is
// refused with a reject frame carrying the reason (codes: 1 protocol,
// 2 cluster, 3 version, 4 authentication, 5 name, 6 retry, 7 not a member).
//
// # Keys and sealing
//
// With Config.SecretKey (the cluster secret) an endpoint speaks protocol
// version 2 only, so a peer that cannot seal (version 1) is refused. The
// secret is used for nothing but deriving keys (HKDF-SHA256):
//
//	transport key = HKDF(secret, salt none, info "wippyd internode v2")
//	proof         = HMAC-SHA256(transport key, side label | len | hello body | len | welcome body)
//	transcript    = SHA-256(len | hello body | len | welcome body)
//	dialer key    = HKDF(transport key, salt transcript, info "wippyd internode v2 dialer to acceptor")
//	acceptor key  = HKDF(transport key, salt transcript, info "wippyd internode v2 acceptor to dialer")
//
// (len: 4 bytes big-endian; the side labels are "wippyd transport
// acceptor\x00" and "wippyd transport dialer\x00".) The proofs show each
// side holds the secret: a wrong key, or a key on one side only, is
// refused both ways. The transcript covers both nonces, both names, boot
// ids and generations, and the chosen version, so every connection has
// keys of its own, one per direction. Gossip is keyed separately
// (cluster/membership derives its key with another label).
//
// After the proofs, everything either side sends travels in sealed
// records (type 8): the body is AES-256-GCM of one or more whole frames
// (data, ping, ack), at most 16 KiB of them or a single larger frame, with
// the record's 5-byte header as additional data and the record's number
// in its direction (0, 1, 2, ... as a 12-byte big-endian nonce) as nonce.
// The number is never sent, so a record that is altered, replayed,
// reordered, dropped, cut short or forged does not open; nor may a frame
// arrive in clear (a reject excepted: it only closes, which anyone on the
// path can do). Such a connection is closed, counted in
// Stats.SealFailures and logged; the dialer reconnects with new keys and
// the unacknowledged frames are sent again, so the handler sees each frame
// once, unaltered, in order. A writer seals what it writes in one batch:
// the cost is one AES-GCM pass over the bytes, no extra round trip.
//
// Without a secret, versions 1 and 2 are the same on the wire: proofs are
// empty and frames travel in clear. A node should then be reachable from
// trusted hosts only (wippyd allows it on the loopback, or with
// cluster.insecure).
//
// # Admission
//
// Connections still in their handshake are bounded per source address
// (Config.MaxPendingPerSource) and in all (Config.MaxPendingHandshakes);
// over a bound, the oldest pending connection (of that address first) is
// closed, so connections that never finish a handshake cannot keep peers
// out, and each handshake must finish within Config.HandshakeTimeout.
// Repeated warnings are throttled (Config.WarnBurst per kind per 10s, then
// a count of those suppressed).
//
// A Send larger than the smaller of the two sides' MaxFrame fails with
// ErrFrameTooLarge once the session is up (before, against the local
// limit only).
//
// Streams are multiplexed by the stream type in each data frame: 1 cluster,
// 2 raft, 3 registry forwarding, 4 EVENTUAL names, 5 process groups. A
// Send on a stream the peer did not register fails with ErrUnknownStream;
// a frame received for a stream without a handler is dropped, counted and
// logged.
package transport
