package node

import (
	"context"
	"fmt"
	"math"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Exec runs entry on host with args and waits for it to end (or ctx).
// It returns how the process ended.
func (n *Node) Exec(ctx context.Context, entryID, host string, args []msg.Value) (proc.Result, error) {
	type outcome struct {
		res proc.Result
		err error
	}
	done := make(chan outcome, 1)
	var child pid.PID
	watcher := &execWatcher{entry: entryID, host: host, args: args, done: func(r proc.Result, err error) {
		done <- outcome{r, err}
	}, child: &child}
	// The watcher must not take a terminal host's only slot, nor any slot
	// of a bounded host the program may need: it runs on the first
	// process host.
	if _, err := n.rt.Spawn(proc.SpawnRequest{Entry: "wippyd:exec", Host: n.workHost(), System: true, Behavior: native.New(watcher)}); err != nil {
		return proc.Result{}, err
	}
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return proc.Result{}, ctx.Err()
	case <-n.stopDone:
		// The watcher stops last, after the program: its report is
		// queued by now if it ever comes.
		select {
		case o := <-done:
			return o.res, o.err
		default:
			return proc.Result{}, fmt.Errorf("%w before the program reported its end", ErrStopped)
		}
	}
}

// execWatcher spawns the entry monitored and reports its exit.
type execWatcher struct {
	entry, host string
	args        []msg.Value
	child       *pid.PID
	done        func(proc.Result, error)
}

func (w *execWatcher) Init(c *native.Ctx, _ []msg.Value) error {
	p, err := c.Spawn(proc.SpawnRequest{Entry: w.entry, Host: w.host, Args: w.args, Monitor: true})
	if err != nil {
		w.done(proc.Result{}, err)
		c.Stop(msg.Nil)
		return nil
	}
	*w.child = p
	return nil
}

func (w *execWatcher) HandleMessage(*native.Ctx, native.Message) error { return nil }

func (w *execWatcher) HandleEvent(c *native.Ctx, e native.Event) error {
	switch e.Kind {
	case proc.DeliveryExit:
		if e.From == *w.child {
			w.done(proc.Result{Value: e.Value, Err: e.Err}, nil)
			c.Stop(msg.Nil)
		}
	case proc.DeliveryCancel:
		// The node is stopping: the program gets its own CANCEL and may
		// clean up; keep waiting for its EXIT (the runtime terminates what
		// is still running after the stop's grace period).
	}
	return nil
}

// ExitStatus maps how a `run -x` process ended to the command's exit status
// (SPEC section 2): 0 for nothing, nil or 0; the number for another integer
// in 0..255; 0/1 for true/false; a string is printed to stdout, status 0;
// any other value 0. An error exit is status 1 with the error on stderr,
// and so is a number that is not an integer in 0..255 (with a note).
func ExitStatus(r proc.Result) (code int, stdout, stderr string) {
	if r.Err != nil {
		return 1, "", fmt.Sprintf("error: %s\n", r.Err.Error())
	}
	v := r.Value
	switch v.Kind() {
	case msg.KindNil:
		return 0, "", ""
	case msg.KindBool:
		b, _ := v.AsBool()
		if b {
			return 0, "", ""
		}
		return 1, "", ""
	case msg.KindInt:
		i, _ := v.AsInt()
		if i < 0 || i > 255 {
			return 1, "", fmt.Sprintf("wippyd: main returned %d, outside 0..255\n", i)
		}
		return int(i), "", ""
	case msg.KindFloat:
		f, _ := v.AsFloat()
		if f == math.Trunc(f) && f >= 0 && f <= 255 {
			return int(f), "", ""
		}
		return 1, "", fmt.Sprintf("wippyd: main returned %v, not an integer in 0..255\n", f)
	case msg.KindString:
		s, _ := v.AsString()
		return 0, s + "\n", ""
	}
	return 0, "", ""
}

// StringArgs turns command-line arguments into process arguments.
func StringArgs(args []string) []msg.Value {
	out := make([]msg.Value, len(args))
	for i, a := range args {
		out[i] = msg.String(a)
	}
	return out
}

// workHost is the host the node's own helper processes run on: the first
// host that is not a terminal host.
func (n *Node) workHost() string {
	for _, h := range n.rt.Hosts() {
		if !n.terminals[h.ID] {
			return h.ID
		}
	}
	return ""
}
