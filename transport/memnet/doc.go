// Package memnet is an in-memory network for tests: the twin of
// transport/tcp, with faults on demand.
//
// A Network holds named hosts; Host(name) is a transport.Network that
// listens and dials as that host. Connections are pairs of buffered pipes
// (1 MiB each way, writes block when full) that honour deadlines, Close
// (the other end reads what was sent, then io.EOF) and addresses.
//
// Faults are set between host names:
//   - Partition(a, b) resets every connection between a and b and refuses
//     dials both ways until Heal(a, b).
//   - Cut(a, b) resets the open connections once; redials succeed.
//   - DropNext(from, to, n) silently discards the next n writes from one
//     host to the other. The transport writes whole frames per write, so
//     this loses whole frames inside a live connection, which the receiver
//     must notice from the sequence numbers.
//   - Delay(from, to, d) holds every later write for d before the reader
//     sees it, keeping order.
//   - Pause(host) holds back every later write to or from host, keeping
//     connections open, until Resume(host) lets it through in order: a
//     stopped process (SIGSTOP, docker pause) as its peers see it.
//
// Usage:
//
//	mn := memnet.New()
//	a, _ := transport.New(cfgA, mn.Host("a")) // cfgA.BindAddr = "a"
//	b, _ := transport.New(cfgB, mn.Host("b"))
//	mn.Partition("a", "b")
//
// There is no goroutine per connection: Close on everything is enough to
// leave nothing running. All methods are safe for concurrent use.
package memnet
