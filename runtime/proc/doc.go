// Package proc defines what a process is to the runtime: the Behavior every
// kind of process implements (Lua, Go-native, later others), the Env through
// which a running behaviour acts on the runtime, the deliveries it receives,
// its life-cycle states with their legal transitions, and exit reasons as
// error values.
//
// The runtime calls Behavior.Step with a batch of deliveries; the behaviour
// handles them, runs until it has nothing more to do, and says whether it
// yields, waits or is done. A behaviour never blocks a worker while waiting:
// everything that can wake a process (a message, a signal, a timer) arrives
// as a Delivery in a later Step.
//
// Env is valid only during the Step it was passed to, and only on that
// goroutine. A Behavior is driven by one worker at a time (the runtime's
// one-runner invariant), so it needs no locking of its own.
package proc
