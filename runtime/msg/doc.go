// Package msg defines Value, the neutral payload that crosses processes and
// nodes: nil, bool, int64, float64, string, bytes, list, map, PID and error.
//
// Every message payload, spawn argument and exit value is a Value. Lua tables
// are converted to Values on send and back on receive, Go-native processes
// build them directly, so Lua and Go processes talk freely, and a Value is
// encoded to msgpack by hand (codec.go) without reflection.
//
// Values are immutable once built: Copy is needed only for a Value whose
// Bytes the holder may still change. Maps keep their entries sorted by key
// (integers before strings), so encoding and printing are deterministic and
// Equal does not depend on the order a map was built in.
//
// Nesting is capped at MaxDepth levels.
package msg
