package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The cluster tour: three nodes in this process on the loopback, each
// with the Lua app in clustertour/. This file starts them and waits for
// the cluster to form; the story itself is tour:main, run on n1, which
// asks the "operator" (a Go process here, on n1) to stop n2 hard.

//go:embed clustertour
var clusterTourFiles embed.FS

// tourNodes are the tour's nodes; the first runs the story.
var tourNodes = []string{"n1", "n2", "n3"}

// tourFormTimeout bounds the cluster's forming: the nodes routing to each
// other and Raft electing a leader.
const tourFormTimeout = 10 * time.Second

// tourTimeout bounds the story (its own steps time out sooner).
const tourTimeout = 60 * time.Second

// clusterTour runs the tour and returns the exit status: 0 when the story
// ran to its end, 1 when it failed, 128+n when signal n cut it short.
func clusterTour(stdout, stderr io.Writer, verbose bool, signals <-chan os.Signal) int {
	sub, err := fs.Sub(clusterTourFiles, "clustertour")
	if err == nil {
		var app *node.App
		if app, err = node.LoadAppFS(sub); err == nil {
			return (&tour{app: app, stdout: stdout, stderr: stderr, verbose: verbose}).run(signals)
		}
	}
	fmt.Fprintf(stderr, "wippyd demo cluster: %v\n", err)
	return 1
}

type tour struct {
	app            *node.App
	stdout, stderr io.Writer
	verbose        bool
	nodes          []*node.Node
	stopOnce       []sync.Once
}

func (t *tour) run(signals <-chan os.Signal) int {
	ctx, cancel := context.WithTimeout(context.Background(), tourTimeout)
	defer cancel()
	interrupted := make(chan os.Signal, 1)
	go func() {
		select {
		case sig := <-signals:
			interrupted <- sig
			cancel()
		case <-ctx.Done():
		}
	}()
	defer t.stopAll()
	fmt.Fprintln(t.stdout, "wippyd: a tour of a cluster: three nodes in this process, on 127.0.0.1 with ephemeral ports")
	err := t.form(ctx)
	if err == nil {
		fmt.Fprintln(t.stdout, "1. n1, n2 and n3 started and found each other: each routes to the other two, and Raft has a leader")
		err = t.story(ctx)
	}
	if err == nil {
		return 0
	}
	select {
	case sig := <-interrupted:
		if n, ok := sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
		return 1
	default:
	}
	fmt.Fprintf(t.stderr, "wippyd demo cluster: %v\n", err)
	return 1
}

// form starts the nodes, the others joining the first, and waits until
// every node routes to the others and knows the Raft leader.
func (t *tour) form(ctx context.Context) error {
	// The nodes' logs are off unless asked for: a node stopped hard makes
	// the others log errors (Raft heartbeats fail), which is the point.
	logger := slog.New(slog.DiscardHandler)
	if t.verbose {
		logger = newLogger(t.stderr, "text", slog.LevelInfo)
	}
	t.stopOnce = make([]sync.Once, len(tourNodes))
	for i, name := range tourNodes {
		cfg := node.LoopbackConfig(name)
		cfg.Cluster.Enabled = true
		cfg.Node.Workers = 2
		if i > 0 {
			cfg.Cluster.Membership.JoinAddrs = []string{t.nodes[0].MembershipAddr()}
		}
		opts := []node.Option{node.WithApp(t.app), node.WithLogger(logger.With("node", name))}
		if i == 0 {
			opts = append(opts, node.WithTerminal(&node.Terminal{Stdin: eofReader{}, Stdout: t.stdout, Stderr: t.stderr}))
		}
		n, err := node.New(cfg, opts...)
		if err != nil {
			return err
		}
		t.nodes = append(t.nodes, n)
		if err := n.Start(); err != nil {
			return err
		}
	}
	formCtx, cancel := context.WithTimeout(ctx, tourFormTimeout)
	defer cancel()
	for _, n := range t.nodes {
		if err := n.WaitNodes(formCtx, tourNodes...); err != nil {
			return fmt.Errorf("the cluster did not form: %w", err)
		}
	}
	// Ready adds the Raft leader; it has no event to wait on.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, n := range t.nodes {
		for !n.Ready() {
			select {
			case <-tick.C:
			case <-formCtx.Done():
				return fmt.Errorf("no Raft leader: %w", formCtx.Err())
			}
		}
	}
	return nil
}

// story runs tour:main on n1's terminal host, with the operator it asks
// to stop n2, and prints how it ended.
func (t *tour) story(ctx context.Context) error {
	n1 := t.nodes[0]
	op, err := n1.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&operator{tour: t})})
	if err != nil {
		return err
	}
	if err := n1.Runtime().Register("operator", op); err != nil {
		return err
	}
	host, _, err := node.TerminalHost(t.app, "")
	if err != nil {
		return err
	}
	res, err := n1.Exec(ctx, "tour:main", host, nil)
	if err != nil {
		return err
	}
	if code, _, errText := node.ExitStatus(res); code != 0 {
		return fmt.Errorf("the tour failed: %s", errText)
	}
	return nil
}

// stopHard cuts node name off the cluster with no goodbye, as a crash
// does, then stops what ran on it.
func (t *tour) stopHard(name string) error {
	for i, n := range t.nodes {
		if n.Config().Node.Name == name && i > 0 {
			n.Isolate()
			go t.stop(i)
			return nil
		}
	}
	return fmt.Errorf("no node %q to stop (the tour runs on %s)", name, tourNodes[0])
}

func (t *tour) stop(i int) {
	t.stopOnce[i].Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		t.nodes[i].Stop(ctx)
	})
}

// stopAll stops every node, the others before the first.
func (t *tour) stopAll() {
	var wg sync.WaitGroup
	for i := len(t.nodes) - 1; i > 0; i-- {
		wg.Add(1)
		go func() { defer wg.Done(); t.stop(i) }()
	}
	wg.Wait()
	if len(t.nodes) > 0 {
		t.stop(0)
	}
}

// operator answers "stop hard" (the node's name) with "stopped" once that
// node is cut off. The cut happens off the scheduler's worker.
type operator struct{ tour *tour }

func (o *operator) HandleMessage(c *native.Ctx, m native.Message) error {
	if m.Topic != "stop hard" {
		return nil
	}
	name, _ := m.Payload.AsString()
	rt, from := o.tour.nodes[0].Runtime(), m.From
	go func() {
		reply := msg.Bool(true)
		if err := o.tour.stopHard(name); err != nil {
			reply = msg.String(err.Error())
		}
		rt.Send(pid.PID{}, from, "stopped", reply)
	}()
	return nil
}

// eofReader is the tour's stdin: it reads nothing.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
