// Package native lets a user write a process in Go, as a state machine of
// callbacks the runtime calls on the process's turn: Init once, then
// HandleMessage, HandleEvent and HandleTimer as things arrive, and Terminate
// when it ends. Between callbacks the process holds no goroutine, only its
// own state, so a native process costs a few hundred bytes at rest.
//
//	type counter struct{ n int64 }
//
//	func (c *counter) HandleMessage(ctx *native.Ctx, m native.Message) error {
//		c.n++
//		return ctx.Send(m.From, "count", msg.Int(c.n))
//	}
//
//	pid, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&counter{})})
//
// A callback runs to completion: native processes are not preempted, so a
// callback should not block; fairness between processes comes from the
// runtime's per-turn message budget. Return an error from a callback, or call
// Ctx.Fail, to end the process with that error; call Ctx.Stop to end it
// normally with a value. Terminate is not called when the process is killed
// (terminated by Runtime.Terminate or process.terminate, its host's
// cancel_timeout ran out, or a linked process failed): a killed process
// runs no code. To stop a process so that its Terminate runs, cancel it
// (Runtime.Cancel, Ctx.Cancel): without a HandleEvent method the CANCEL
// ends it normally.
//
// Without a HandleEvent method, a CANCEL ends the process normally and EXIT
// and LINK_DOWN events are ignored.
package native
