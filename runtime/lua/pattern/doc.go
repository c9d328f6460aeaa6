// Package pattern matches Lua 5.1 patterns, interruptibly.
//
// gopher-lua's matcher cannot be stopped: a pattern that backtracks
// exponentially (string.find(("a"):rep(30), ("a*"):rep(30).."b")) held its
// worker for minutes and made the node deaf to terminate and SIGTERM. A
// Matcher calls its Check function every CheckEvery steps (a step is one
// attempt to match a pattern item at a subject position), and a non-nil
// error from Check abandons the match with that error.
//
// # Usage
//
//	m := pattern.Matcher{Check: func() error { return ctx.Err() }}
//	m.Reset(subject, pat)
//	end, err := m.MatchAt(start, 0) // -1: no match at start
//	n := m.Captures()                // then m.Capture(i) for i < n
//
// The string library (find, match, gmatch, gsub) is built on MatchAt in
// package lua; this package knows nothing of Lua values.
//
// # Semantics
//
// Those of Lua 5.1's lstrlib.c, written from its manual and behaviour:
// single-character classes (., %a %c %d %l %p %s %u %w %x %z and their
// upper-case complements, %x for a non-alphanumeric x, sets with ranges,
// classes and ^), the quantifiers * + - ?, captures and position captures,
// back-references %1-%9, %bxy and %f[set]. A pattern error is reported when
// matching reaches it, as Lua does, with Lua's message (an *Error).
//
// Two differences, both as Lua 5.2 and later: a pattern may contain "\0"
// (5.1 ends the pattern there), and recursion deeper than MaxDepth (one
// level per quantified item or capture being matched) fails with "pattern
// too complex" instead of growing the stack without bound.
//
// # Concurrency
//
// A Matcher is not safe for concurrent use; its zero value is ready.
package pattern
