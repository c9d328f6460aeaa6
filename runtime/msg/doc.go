// Package msg defines Value, the neutral payload that crosses processes and
// nodes: nil, bool, int64, float64, string, bytes, list, map, PID and error.
//
// Every message payload, spawn argument and exit value is a Value. Lua tables
// are converted to Values on send and back on receive, Go-native processes
// build them directly, so Lua and Go processes talk freely, and a Value is
// encoded to msgpack by hand (codec.go, decode.go) without reflection.
//
// Values are immutable once built. List, Map and Error keep the slices they
// are given, so Copy is needed only by code that built a Value from slices
// it keeps changing; Bytes copies its argument. Maps keep their entries
// sorted by key (integers before strings), so encoding and printing are
// deterministic and Equal does not depend on the order a map was built in.
//
// Nesting is capped at MaxDepth levels. Lists, maps and errors (a container
// of their details) each count one level.
//
// # Wire format
//
// Marshal, AppendBinary and Encode write msgpack: nil, bool, the shortest
// int encoding, float64 always (never float32, never an int for an integral
// float, so the kind and the bits survive), str for strings, bin for bytes,
// array for lists, map for maps with keys sorted as in memory. Two ext types
// carry the rest; their codes are part of the protocol and never renumbered:
//
//	ExtPID   = 1  body: array [node str, host str, seq uint]
//	ExtError = 2  body: array [kind str, message str, retryable nil|false|true, details value]
//
// Unmarshal and Decode read what the encoder writes and also: float32,
// every int width (an integer above math.MaxInt64 is an error), non-minimal
// str/bin/array/map/ext headers, and map entries in any order. They reject
// map keys other than strings and integers, a key given twice, unknown ext
// types, ext bodies that their content does not fill exactly, and nesting
// deeper than MaxDepth. Strings are not checked for UTF-8: Lua strings are
// bytes.
//
// Decoding is safe on hostile input: it does not panic, it checks every
// length prefix against the bytes left before allocating, and it allocates
// at most DecodeBudget of the input's size (32 bytes per input byte plus
// 1 MiB), refusing with ErrBudget what would need more; the encoders
// refuse such a value too, so its sender learns of it (in practice a list
// or map of more than about 65,000 one-byte elements, or 26,000 empty
// tables, in one message). Unmarshal rejects trailing bytes; Decode leaves
// them to the caller.
//
// All functions are safe for concurrent use. An Encoder or Decoder passed in
// belongs to the caller and must not be shared during the call.
package msg
