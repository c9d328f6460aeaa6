package bench

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// benchNodeConfig is the configuration of a benchmark node: clustered on
// 127.0.0.1 with ephemeral ports, joining join, no admin endpoint.
func benchNodeConfig(name string, join []string) node.Config {
	cfg := node.DefaultConfig()
	cfg.Node.Name = name
	cfg.Admin.Addr = ""
	cfg.Cluster.Enabled = true
	cfg.Cluster.Membership.BindAddr = "127.0.0.1"
	cfg.Cluster.Membership.BindPort = 0
	cfg.Cluster.Membership.JoinAddrs = join
	cfg.Cluster.Internode.AutoPort = false
	cfg.Cluster.Raft.BootstrapExpect = 3
	return cfg
}

// benchSecret is the cluster secret of the sealed figures: every frame
// between the nodes is then encrypted and authenticated.
const benchSecret = "YmVuY2gtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWYwMTI=" // 32 bytes

// benchPair starts two clustered nodes in this process on loopback ports,
// with an allow policy on their hosts so every send is policy-checked;
// secret is the cluster secret ("": none).
func benchPair(profile, secret string, opts ...node.Option) (a, b *node.Node, stop func(), err error) {
	allow, err := security.Compile(security.PolicySpec{ID: "bench:allow", Actions: []string{"*"}, Resources: []string{"*"}, Effect: security.Allow})
	if err != nil {
		return nil, nil, nil, err
	}
	mk := func(name string, join ...string) (*node.Node, error) {
		cfg := benchNodeConfig(name, join)
		cfg.Cluster.Raft.Enabled = false
		cfg.Cluster.Membership.Profile = profile
		cfg.Cluster.Membership.SecretKey = secret
		n, err := node.New(cfg, append([]node.Option{node.WithLogger(discard()),
			node.WithHosts(runtime.HostConfig{ID: node.DefaultHost, Policies: []*security.Policy{allow}})}, opts...)...)
		if err != nil {
			return nil, err
		}
		return n, n.Start()
	}
	if a, err = mk("bench-a"); err != nil {
		return nil, nil, nil, err
	}
	if b, err = mk("bench-b", a.MembershipAddr()); err != nil {
		a.Stop(context.Background())
		return nil, nil, nil, err
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		b.Stop(ctx)
		a.Stop(ctx)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitNodes(ctx, "bench-b"); err == nil {
		err = b.WaitNodes(ctx, "bench-a")
	}
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("bench: nodes never saw each other: %w", err)
	}
	return a, b, stop, nil
}

// remoteSender sends n 64-byte payloads to one receiver, in chunks, with
// at most window unacknowledged: an unthrottled sender would overflow the
// transport's per-peer queue (cluster.internode.send_queue_bytes), which
// abandons the session by design (SPEC section 10).
type remoteSender struct {
	to      pid.PID
	left    int
	sent    int
	acked   int
	window  int
	payload msg.Value
}

func (s *remoteSender) Init(c *native.Ctx, _ []msg.Value) error { return s.fill(c) }

func (s *remoteSender) HandleMessage(c *native.Ctx, m native.Message) error {
	if m.Topic == "ack" {
		n, _ := m.Payload.AsInt()
		s.acked = int(n)
	}
	return s.fill(c)
}

func (s *remoteSender) fill(c *native.Ctx) error {
	for s.left > 0 && s.sent-s.acked < s.window {
		k := min(s.left, 512, s.window-(s.sent-s.acked))
		for i := 0; i < k; i++ {
			if err := c.Send(s.to, "m", s.payload); err != nil {
				return err
			}
		}
		s.left -= k
		s.sent += k
	}
	if s.left == 0 {
		c.Stop(msg.Nil)
	}
	return nil
}

// remoteWarmUp is how many messages a remote throughput figure sends
// before it starts the clock: two windows, so the receiver's mailbox
// rings, the send queue's chunks, the connection's buffers and the GC heap
// have reached their steady size, as in the harness's 1 s warm-up.
const remoteWarmUp = 2 * 65536

// RemoteThroughput: one Go-native sender on one node to one Go-native
// receiver on another, 64-byte payloads, policy checks on, the sender
// keeping at most 65,536 messages unacknowledged (remote_msgs_per_s): n
// messages timed after remoteWarmUp untimed ones.
func RemoteThroughput(n int) (Result, error) { return remoteThroughput("remote_msgs_per_s", "", n) }

// RemoteThroughputSealed is RemoteThroughput between nodes with a cluster
// secret, so every frame is sealed (remote_msgs_sealed_per_s).
func RemoteThroughputSealed(n int) (Result, error) {
	return remoteThroughput("remote_msgs_sealed_per_s", benchSecret, n)
}

func remoteThroughput(name, secret string, n int) (Result, error) {
	a, b, stop, err := benchPair("fast", secret)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	done := make(chan struct{})
	var got atomic.Int64 // read by this goroutine when not all arrived
	var start time.Time  // set by the receiver; read after done
	const ackEvery = 8192
	total := int64(remoteWarmUp + n)
	recv, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		k := got.Add(1)
		switch k {
		case remoteWarmUp:
			start = time.Now()
		case total:
			close(done)
		}
		if k%ackEvery == 0 {
			return c.Send(m.From, "ack", msg.Int(k))
		}
		return nil
	}))})
	if err != nil {
		return Result{}, err
	}
	payload := msg.String(strings.Repeat("x", 64))
	if _, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&remoteSender{to: recv, left: int(total), window: 65536, payload: payload})}); err != nil {
		return Result{}, err
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return Result{}, fmt.Errorf("%s: %d of %d arrived", name, got.Load(), total)
	}
	return Result{Name: name, Value: float64(n) / time.Since(start).Seconds(), Unit: "msgs/s"}, nil
}

// remoteLuaSources are the processes of remote_msgs_lua_per_s, written as
// a Wippy user writes them: the sender keeps at most window messages
// unacknowledged, the receiver acknowledges every ack_every, tells done_to
// when it has the first warm and when it has them all.
var remoteLuaSources = Sources{
	"bench:remote_sender": `
local function main(to, n, window)
  local payload = string.rep("x", 64)
  local inbox = process.inbox()
  local sent, acked = 0, 0
  while sent < n do
    local limit = math.min(n, acked + window)
    while sent < limit do
      process.send(to, "m", payload)
      sent = sent + 1
    end
    while sent < n and sent - acked >= window do
      acked = inbox:receive():payload():data()
    end
  end
end
return {main = main}`,
	"bench:remote_receiver": `
local function main(n, ack_every, done_to, warm)
  local inbox = process.inbox()
  local got = 0
  while got < n do
    local m = inbox:receive()
    got = got + 1
    if got % ack_every == 0 then
      process.send(m:from(), "ack", got)
    end
    if got == warm then
      process.send(done_to, "warm", got)
    end
  end
  process.send(done_to, "done", got)
end
return {main = main}`,
}

// RemoteThroughputLua is RemoteThroughput with Lua processes at both ends
// (remote_msgs_lua_per_s), n messages timed after remoteWarmUp.
func RemoteThroughputLua(n int) (Result, error) {
	eng, err := lua.New(lua.Config{Catalog: remoteLuaSources, Logger: discard()})
	if err != nil {
		return Result{}, err
	}
	a, b, stop, err := benchPair("fast", "", node.WithCatalog(eng))
	if err != nil {
		return Result{}, err
	}
	defer stop()
	done := make(chan struct{})
	var start time.Time // set by the waiter at "warm"; read after done
	waiter, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		if m.Topic == "warm" {
			start = time.Now()
			return nil
		}
		close(done)
		return nil
	}))})
	if err != nil {
		return Result{}, err
	}
	const window, ackEvery = 65536, 8192
	total := int64(remoteWarmUp + n)
	recv, err := b.Runtime().Spawn(proc.SpawnRequest{Entry: "bench:remote_receiver",
		Args: []msg.Value{msg.Int(total), msg.Int(ackEvery), msg.String(waiter.String()), msg.Int(remoteWarmUp)}})
	if err != nil {
		return Result{}, err
	}
	if _, err := a.Runtime().Spawn(proc.SpawnRequest{Entry: "bench:remote_sender",
		Args: []msg.Value{msg.String(recv.String()), msg.Int(total), msg.Int(window)}}); err != nil {
		return Result{}, err
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return Result{}, fmt.Errorf("remote_msgs_lua_per_s: not all of %d messages arrived", total)
	}
	return Result{Name: "remote_msgs_lua_per_s", Value: float64(n) / time.Since(start).Seconds(), Unit: "msgs/s"}, nil
}

// pinger measures request/reply round trips to a remote echo, after warm
// unrecorded ones.
type pinger struct {
	to    pid.PID
	warm  int
	left  int
	sent  time.Time
	rtts  []time.Duration
	done  chan struct{}
	value msg.Value
}

func (p *pinger) Init(c *native.Ctx, _ []msg.Value) error {
	p.sent = time.Now()
	return c.Send(p.to, "ping", p.value)
}

func (p *pinger) HandleMessage(c *native.Ctx, _ native.Message) error {
	if p.warm > 0 {
		p.warm--
		p.sent = time.Now()
		return c.Send(p.to, "ping", p.value)
	}
	p.rtts = append(p.rtts, time.Since(p.sent))
	if p.left--; p.left == 0 {
		close(p.done)
		c.Stop(msg.Nil)
		return nil
	}
	p.sent = time.Now()
	return c.Send(p.to, "ping", p.value)
}

// rttWarmUp is how many round trips RemoteRTT makes before it measures.
const rttWarmUp = 1_000

// RemoteRTT is the p50 of request/reply between native processes on two
// nodes (remote_rtt_us), after rttWarmUp round trips.
func RemoteRTT(n int) (Result, error) {
	a, b, stop, err := benchPair("fast", "")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	echo, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		return c.Send(m.From, "pong", m.Payload)
	}))})
	if err != nil {
		return Result{}, err
	}
	// Steady state, as the throughput figures: the first round trips
	// (sessions settling, buffers growing) are not counted, and the
	// garbage of the figures run before is collected first.
	p := &pinger{to: echo, warm: rttWarmUp, left: n, done: make(chan struct{}), value: msg.String(strings.Repeat("x", 64))}
	goruntime.GC()
	if _, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(p)}); err != nil {
		return Result{}, err
	}
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		return Result{}, errors.New("remote_rtt_us: replies never all came")
	}
	sort.Slice(p.rtts, func(i, j int) bool { return p.rtts[i] < p.rtts[j] })
	return Result{Name: "remote_rtt_us", Value: float64(p.rtts[len(p.rtts)/2].Microseconds()), Unit: "us"}, nil
}

// NodeDownDetect is the time from a node's abrupt end (memberlist and
// transport shut without a leave, as a SIGKILL) until a monitor on the
// other node fires with noconnection (nodedown_detect_ms, lan profile;
// nodedown_detect_fast_ms with the fast profile). A pair in which the
// monitor fired before the end (a false failure detection, which an
// overloaded machine can cause with the fast profile) measures nothing:
// up to three pairs are tried.
func NodeDownDetect(profile string) (Result, error) {
	name := "nodedown_detect_ms"
	if profile == "fast" {
		name = "nodedown_detect_fast_ms"
	}
	for range 3 {
		d, early, err := nodeDownOnce(profile)
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", name, err)
		}
		if !early {
			return Result{Name: name, Value: float64(d.Milliseconds()), Unit: "ms"}, nil
		}
	}
	return Result{}, fmt.Errorf("%s: in three pairs the monitor fired before the node went down", name)
}

// nodeDownOnce measures NodeDownDetect on a new pair; early reports a
// monitor that fired before the node went down.
func nodeDownOnce(profile string) (d time.Duration, early bool, err error) {
	a, b, stop, err := benchPair(profile, "")
	if err != nil {
		return 0, false, err
	}
	defer stop()
	target, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		return 0, false, err
	}
	m := &monitorOnce{target: target, ready: make(chan struct{}), synced: make(chan struct{}, 1), fired: make(chan error, 1)}
	mon, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(m)})
	if err != nil {
		return 0, false, err
	}
	<-m.ready
	// A DOWN the monitor call itself caused (the route was down) is
	// handled before the sync message sent after it.
	a.Runtime().Send(pid.PID{}, mon, "sync", msg.Nil)
	select {
	case <-m.synced:
	case <-m.fired:
		return 0, true, nil
	case <-time.After(time.Minute):
		return 0, false, errors.New("the monitoring process never answered")
	}
	select {
	case <-m.fired:
		return 0, true, nil
	default:
	}
	start := time.Now()
	b.Isolate()
	select {
	case err := <-m.fired:
		if !errors.Is(err, proc.ErrNoConnection) {
			return 0, false, fmt.Errorf("monitor fired with %v", err)
		}
	case <-time.After(time.Minute):
		return 0, false, errors.New("monitor never fired")
	}
	return time.Since(start), false, nil
}

// monitorOnce monitors target and reports the first DOWN on fired. A
// "sync" message is answered on synced once every delivery queued before
// it was handled.
type monitorOnce struct {
	target pid.PID
	ready  chan struct{}
	synced chan struct{}
	fired  chan error
}

func (m *monitorOnce) Init(c *native.Ctx, _ []msg.Value) error {
	err := c.Monitor(m.target)
	close(m.ready)
	return err
}

func (m *monitorOnce) HandleMessage(_ *native.Ctx, in native.Message) error {
	if in.Topic == "sync" {
		m.synced <- struct{}{}
	}
	return nil
}

func (m *monitorOnce) HandleEvent(c *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryExit {
		m.fired <- e.Err
		c.Stop(msg.Nil)
	}
	return nil
}

// clusterSizes size the cluster figures.
type clusterSizes struct {
	msgs int  // messages of remote_msgs_per_s and the sealed one (half for the Lua one), after the warm-up
	rtts int  // round trips of remote_rtt_us
	lan  bool // also nodedown_detect_ms, several seconds
}

// figure is one named measurement that sizes itself.
type figure struct {
	name string
	run  func() (Result, error)
}

// clusterFigures are the cluster figures, in the order they run.
func clusterFigures(sz clusterSizes) []figure {
	fs := []figure{
		{"remote_msgs_per_s", func() (Result, error) { return RemoteThroughput(sz.msgs) }},
		{"remote_msgs_sealed_per_s", func() (Result, error) { return RemoteThroughputSealed(sz.msgs) }},
		{"remote_msgs_lua_per_s", func() (Result, error) { return RemoteThroughputLua(sz.msgs / 2) }},
		{"remote_rtt_us", func() (Result, error) { return RemoteRTT(sz.rtts) }},
		{"nodedown_detect_fast_ms", func() (Result, error) { return NodeDownDetect("fast") }},
	}
	if sz.lan {
		fs = append(fs, figure{"nodedown_detect_ms", func() (Result, error) { return NodeDownDetect("lan") }})
	}
	return fs
}

// Cluster runs the cluster figures (quick: fewer messages, and the lan
// detection time, several seconds, is skipped).
func Cluster(quick bool) ([]Result, error) {
	if quick {
		return runFigures(clusterFigures(clusterSizes{msgs: 200_000, rtts: 1_000}))
	}
	return runFigures(clusterFigures(clusterSizes{msgs: 2_000_000, rtts: 5_000, lan: true}))
}

// runFigures runs fs in turn and checks each reports under its name.
func runFigures(fs []figure) ([]Result, error) {
	var out []Result
	for _, f := range fs {
		r, err := f.run()
		if err != nil {
			return nil, err
		}
		if r.Name != f.name {
			return nil, fmt.Errorf("bench: figure %s reported as %s", f.name, r.Name)
		}
		out = append(out, r)
	}
	return out, nil
}
