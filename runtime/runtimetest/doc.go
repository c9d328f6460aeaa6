// Package runtimetest runs one behaviour with no node and captures what it
// does — its sends, spawns, links, monitors, names, timers and how it ends
// — so a Go-native process (or any proc.Behavior) can be unit-tested
// without a runtime, a scheduler or goroutines.
//
//	h := runtimetest.New(t, native.New(&counter{}))
//	h.Start()                                  // first Step: Init
//	h.Send(client, "inc", msg.Nil)             // one Step with one message
//	sent := h.TakeSent()                       // what that Step sent
//	h.Advance(5 * time.Second)                 // fire the timers due by then
//	h.Cancel(client, "shutdown")
//	res, done := h.Done()
//
// The Harness is the process's proc.Env and its only world. Each driving
// call (Start, Deliver, Send, Exit, LinkDown, Cancel) runs one Step with
// its deliveries — unless the runtime would kill the process instead, as
// for a linked failure it does not trap — and Advance runs one Step per
// due timer, never batching timers. After each such Step the harness, as a
// node would, runs more Steps while the process has an immediate next
// turn: it returned proc.StatusYield, or its own calls put deliveries in
// its mailbox (a send to itself, a cancel of itself, the EXIT or LINK_DOWN
// of a PID that was dead when it monitored or linked it). A process that
// never stops doing so fails the test after WithStepLimit Steps in a row.
// Steps counts all of them.
//
// What the runtime decides is simulated the way the runtime decides it:
// Send to a dead PID is not an error; Monitor of a dead PID gives an EXIT
// with proc.ErrNoProcess and Link one a link failure; a linked failure
// kills a process that does not trap links (Behavior.Kill instead of a
// Step, the process done with proc.LinkDown); Terminate of itself kills the
// process when the Step returns; a delivered EXIT removes its monitor and a
// fired timer is gone; names follow the node-local registry's rules, and
// the errors returned carry the runtime's kinds and messages. Env.Killed
// reports a kill asked for during the Step (Harness.Kill from the
// behaviour's own code or from another goroutine, which also interrupts a
// proc.Interrupter).
//
// Policies are checked by the node's own checks, a security.Guard (SPEC
// section 8), when the options give any: WithActor, WithScope or WithChain
// set the process's security context, WithHostPolicies the policies of its
// host and of the hosts its calls aim at, WithPolicies the policy table
// that SpawnRequest.ScopeIDs are resolved against, WithStrictMode denies
// what no policy decides. A denied call returns PERMISSION_DENIED and is
// not recorded; Env.Actor, Env.Can and Env.Authorize answer from the same
// context.
//
// What is not simulated: there is no scheduling (Steps run on the calling
// goroutine, one at a time, in the order the test drives them), no mailbox
// bound (a send never fails with "mailbox full" unless a fault says so), no
// per-turn budget (a batch is what the test hands in), no cancel timeout,
// no other processes (spawned behaviours are recorded, never run; drive one
// with a Harness of its own) and no network (every PID is reachable; use
// WithFault for an unreachable node). Time moves only with Advance: Now is
// the fake clock, and a timer fires only when Advance passes its deadline.
//
// The harness also fails the test for what a correct behaviour or test
// never does: stepping a process after it is done (a behaviour must not be
// stepped after Done), a panic in Step (reported with its value and stack),
// an Env used after its Step returned, an unknown Status, an Exit or
// LinkDown the runtime would never deliver, and driving the harness from
// inside a Step.
//
// A Harness is not safe for concurrent use: drive it and read its captures
// from the test's goroutine. The one exception is Kill, which another
// goroutine may call while a Step runs, to test that a behaviour stops.
package runtimetest
