// Command embed runs a two-node wippyd cluster inside one Go program:
// both nodes start from node.LoopbackConfig (loopback, ephemeral ports,
// no admin endpoint, nothing on disk, quiet logs), the second joins the
// first, and Go-native processes talk across them.
//
//	go run ./examples/embed
//
// A counter runs on node a. A client on node b monitors it, asks it to
// add three times and prints the replies; then node a is cut off as a
// crash would, and the client's monitor fires with noconnection.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	a, err := start("a")
	if err != nil {
		return err
	}
	defer stop(a)
	b, err := start("b", a.MembershipAddr())
	if err != nil {
		return err
	}
	defer stop(b)

	// Start returns before the cluster has formed, and a send to a node
	// that is not connected yet is dropped: wait for the sessions.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.WaitNodes(ctx, "b"); err != nil {
		return err
	}
	if err := b.WaitNodes(ctx, "a"); err != nil {
		return err
	}
	fmt.Fprintf(out, "a routes to %v, b routes to %v\n", a.Nodes(), b.Nodes())

	counter, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&counter{})})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "counter runs on node %s as %v\n", counter.Node, counter)
	lines := make(chan string, 8)
	if _, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&client{counter: counter, adds: []int64{1, 2, 39}, out: lines})}); err != nil {
		return err
	}
	for range 3 {
		if err := print(out, lines); err != nil {
			return err
		}
	}
	a.Isolate() // a crash, as the other nodes see it: no goodbye
	fmt.Fprintln(out, "node a cut off")
	return print(out, lines)
}

// start starts a clustered node on the loopback, joining join.
func start(name string, join ...string) (*node.Node, error) {
	cfg := node.LoopbackConfig(name)
	cfg.Cluster.Enabled = true
	cfg.Cluster.Membership.JoinAddrs = join
	// No cluster-wide (Raft) names here: they need bootstrap_expect (3)
	// voters. `wippyd demo cluster` shows them with three nodes.
	cfg.Cluster.Raft.Enabled = false
	n, err := node.New(cfg)
	if err != nil {
		return nil, err
	}
	return n, n.Start()
}

func stop(n *node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Stop(ctx)
}

func print(out io.Writer, lines <-chan string) error {
	select {
	case l := <-lines:
		fmt.Fprintln(out, l)
		return nil
	case <-time.After(20 * time.Second):
		return fmt.Errorf("no news from the client")
	}
}

// counter adds what it is sent and replies with the total.
type counter struct{ total int64 }

func (c *counter) HandleMessage(ctx *native.Ctx, m native.Message) error {
	n, _ := m.Payload.AsInt()
	c.total += n
	return ctx.Send(m.From, "total", msg.Int(c.total))
}

// client monitors the counter, sends it adds one at a time and reports
// each reply and the counter's exit on out.
type client struct {
	counter pid.PID
	adds    []int64
	out     chan<- string
}

func (c *client) Init(ctx *native.Ctx, _ []msg.Value) error {
	if err := ctx.Monitor(c.counter); err != nil {
		return err
	}
	return c.next(ctx)
}

func (c *client) next(ctx *native.Ctx) error {
	if len(c.adds) == 0 {
		return nil
	}
	n := c.adds[0]
	c.adds = c.adds[1:]
	return ctx.Send(c.counter, "add", msg.Int(n))
}

func (c *client) HandleMessage(ctx *native.Ctx, m native.Message) error {
	total, _ := m.Payload.AsInt()
	c.out <- fmt.Sprintf("client on node %s: total %d from %v", ctx.Self().Node, total, m.From)
	return c.next(ctx)
}

func (c *client) HandleEvent(ctx *native.Ctx, e native.Event) error {
	switch e.Kind {
	case proc.DeliveryExit:
		c.out <- fmt.Sprintf("client on node %s: the counter's monitor fired: %v", ctx.Self().Node, e.Err)
	case proc.DeliveryCancel:
		ctx.Stop(msg.Nil)
	}
	return nil
}
