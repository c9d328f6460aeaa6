package cluster

import (
	"errors"
	"time"

	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
	"github.com/wippyd/wippyd/transport"
)

// spawnCall is a remote spawn awaiting its reply.
type spawnCall struct {
	node          string
	from          pid.PID // the parent
	link, monitor bool
	ch            chan spawnResult // buffered 1: whoever completes the call never blocks
}

type spawnResult struct {
	pid pid.PID
	err error
}

// Spawn implements runtime.Router: it asks node to start req there and
// waits for the answer, at most Config.SpawnTimeout. req.Host is the host
// id on that node. Errors: NOT_FOUND for a node never seen, UNAVAILABLE
// for one down or unreachable (or that goes down meanwhile, with
// noconnection), TIMEOUT when no answer came, and otherwise the error the
// target node gave (NOT_FOUND for an unknown entry or host,
// PERMISSION_DENIED when its policy forbids the spawn).
//
// req.Parent (the parent's chain) and req.Actor and req.ScopeIDs (the
// narrowing it asks for; without a parent, the child's identity as
// given) travel with the request, with req.Context: the target node
// checks the spawn against the parent's chain and derives the child's
// identity itself. The target sets up Link and Monitor with from before the
// child first runs, and answers before the child can send anything; this
// side records them (Runtime.RelateRemote) while handling the answer, in
// order with what the child sends next. Spawn blocks the calling goroutine
// for a round trip (the runtime calls it inside Blocking).
func (c *Cluster) Spawn(node string, from pid.PID, req proc.SpawnRequest) (pid.PID, error) {
	if req.Entry == "" || req.Behavior != nil {
		return pid.PID{}, ErrRemoteBehavior
	}
	r := (*c.routes.Load())[node]
	if r == nil {
		return pid.PID{}, proc.Errorf(proc.KindNotFound, ErrUnknownNode.Retryable, "%w: %s", ErrUnknownNode, node)
	}
	if c.stopped.Load() {
		return pid.PID{}, ErrStopped
	}
	id := c.nextID.Add(1)
	call := &spawnCall{node: node, from: from, link: req.Link, monitor: req.Monitor, ch: make(chan spawnResult, 1)}
	c.pmu.Lock()
	c.pending[id] = call
	c.pmu.Unlock()
	// Checked after registering: a NodeDown from now on fails the call.
	if !r.up.Load() {
		c.dropCall(id)
		return pid.PID{}, unreachable(node)
	}
	w := wire.SpawnRequest{
		ID: id, From: from, Entry: req.Entry, Host: req.Host, Args: req.Args,
		Link: req.Link, Monitor: req.Monitor, Exec: req.Exec, Name: req.Name,
		Actor: req.Actor, ScopeIDs: req.ScopeIDs, Context: req.Context,
	}
	if req.Parent != nil {
		w.HasParent, w.Parent = true, req.Parent.Chain
	}
	if m := req.Message; m != nil {
		w.Message = &wire.Message{Topic: m.Topic, Payload: m.Payload}
	}
	enc := c.getEncoder()
	body, err := enc.enc.AppendSpawnRequest(enc.buf[:0], wire.Nodes{Sender: c.node, Receiver: node}, &w)
	if err == nil {
		enc.buf = body
		err = c.ep.Send(node, transport.StreamCluster, body)
		if err != nil {
			err = c.sendError(node, err)
		}
	} else {
		err = proc.Errorf(proc.KindInvalid, ErrEncode.Retryable, "%w: %v", ErrEncode, err)
	}
	c.putEncoder(enc)
	if err != nil {
		c.dropCall(id)
		if errors.Is(err, runtime.ErrNoRoute) {
			return pid.PID{}, unreachable(node)
		}
		return pid.PID{}, err
	}
	c.ctr.spawnsOut.Add(1)
	t := time.NewTimer(c.cfg.SpawnTimeout)
	defer t.Stop()
	select {
	case res := <-call.ch:
		return res.pid, res.err
	case <-t.C:
		if c.dropCall(id) {
			return pid.PID{}, proc.Errorf(proc.KindTimeout, ErrSpawnTimeout.Retryable, "%w: %s after %v", ErrSpawnTimeout, node, c.cfg.SpawnTimeout)
		}
		res := <-call.ch // completed just now
		return res.pid, res.err
	}
}

// unreachable is the UNAVAILABLE error of a remote spawn on a node that
// cannot be reached.
func unreachable(node string) error {
	return proc.Errorf(proc.KindUnavailable, ErrUnreachable.Retryable, "%w: %s", ErrUnreachable, node)
}

// dropCall forgets a pending call; it reports whether it was still there.
func (c *Cluster) dropCall(id uint64) bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if _, ok := c.pending[id]; !ok {
		return false
	}
	delete(c.pending, id)
	return true
}

// failPending fails the calls to node ("" = every call) with err.
func (c *Cluster) failPending(node string, err *proc.Error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for id, call := range c.pending {
		if node == "" || call.node == node {
			delete(c.pending, id)
			call.ch <- spawnResult{err: proc.Errorf(err.Kind, err.Retryable, "remote spawn on %s: %w", call.node, err)}
		}
	}
}

// completeSpawn hands a reply to its waiting call.
func (c *Cluster) completeSpawn(from string, m *wire.SpawnReply) {
	c.pmu.Lock()
	call, ok := c.pending[m.ID]
	if ok && call.node == from {
		delete(c.pending, m.ID)
	}
	c.pmu.Unlock()
	if !ok || call.node != from {
		c.ctr.lateReply.Add(1)
		c.log.Debug("cluster: spawn reply without a waiting call", "peer", from, "id", m.ID, "pid", m.PID.String())
		return
	}
	res := spawnResult{pid: m.PID}
	if m.Err != nil {
		res.err = m.Err
	} else if rt := c.runtime(); rt != nil && !call.from.IsZero() {
		rt.RelateRemote(call.from, m.PID, call.link, call.monitor)
	}
	call.ch <- res
}

// serveSpawn runs a spawn request from another node: the policy check,
// then the spawn on this node's runtime, the relations with the parent,
// and the reply. It runs on the peer's delivery goroutine, so signals the
// parent sends after the reply reach the child after it exists.
func (c *Cluster) serveSpawn(rt Runtime, from transport.Peer, m *wire.SpawnRequest) {
	c.ctr.spawnsIn.Add(1)
	reply := wire.SpawnReply{ID: m.ID}
	if !m.From.IsZero() && m.From.Node != from.Name {
		c.ctr.drop(dropDecode)
		c.logMalformed(from.Name, "spawn request from a process of another node", m.From.String())
		reply.Err = proc.Errorf(proc.KindInvalid, msg.False, "cluster: parent %s is not a process of %s", m.From, from.Name)
		c.reply(from.Name, &reply)
		return
	}
	req := proc.SpawnRequest{
		Entry: m.Entry, Host: m.Host, Args: m.Args, Name: m.Name,
		Link: m.Link, Monitor: m.Monitor, // for the check; a spawn from outside ignores them
		Exec:  m.Exec,
		Actor: m.Actor, ScopeIDs: m.ScopeIDs, Context: m.Context,
	}
	if m.Message != nil {
		req.Message = &proc.Delivery{Kind: proc.DeliveryMessage, From: m.From, Topic: m.Message.Topic, Payload: m.Message.Payload}
	}
	// The spawn is checked against the parent's chain, every layer, and
	// the runtime derives the child's identity from it (RemoteChild);
	// without a parent the request's identity is checked as given.
	caller := security.RemoteCaller{Node: from.Name, Host: m.From.Host, Chain: m.Parent}
	if m.HasParent {
		req.Parent = &caller
	} else {
		caller.Chain = security.RemoteChain{{Actor: m.Actor, ScopeIDs: m.ScopeIDs}}
	}
	check := req.Security()
	if err := rt.Guard().AuthorizeRemoteSpawn(caller, &check, req.Host); err != nil {
		reply.Err = c.deniedSpawn(from.Name, m, err)
		c.reply(from.Name, &reply)
		return
	}
	// The child is related to its parent (already allowed by
	// process.spawn.linked/.monitored) before it runs, and the reply is
	// queued before the child can send anything: whatever the child does,
	// however fast it ends, reaches the parent's node after the reply.
	_, err := rt.SpawnFor(m.From, req, func(child pid.PID) {
		reply.PID = child
		c.reply(from.Name, &reply)
	})
	if err != nil {
		reply.Err = proc.AsError(err)
		c.reply(from.Name, &reply)
	}
}

func (c *Cluster) reply(node string, m *wire.SpawnReply) {
	enc := c.getEncoder()
	body, err := enc.enc.AppendSpawnReply(enc.buf[:0], wire.Nodes{Sender: c.node, Receiver: node}, m)
	if err != nil {
		if m.Err == nil {
			c.putEncoder(enc)
			c.log.Error("cluster: spawn reply not encoded", "peer", node, "id", m.ID, "err", err)
			return
		}
		// Only an error whose details cannot be encoded gets here: send
		// it without them.
		m.Err = proc.NewError(m.Err.Kind, m.Err.Message, m.Err.Retryable)
		body, err = enc.enc.AppendSpawnReply(enc.buf[:0], wire.Nodes{Sender: c.node, Receiver: node}, m)
	}
	if err == nil {
		enc.buf = body
		err = c.ep.Send(node, transport.StreamCluster, body)
	}
	c.putEncoder(enc)
	if err != nil {
		c.log.Warn("cluster: spawn reply not sent", "peer", node, "id", m.ID, "err", err)
	}
}
