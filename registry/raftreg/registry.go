package raftreg

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/transport"
)

// Registry is the cluster-wide name table of one node: a Raft replica of
// the registry/fsm table, serving registry.Registry and the runtime's
// NameService. See the package documentation.
type Registry struct {
	cfg   Config
	log   *slog.Logger
	self  Member
	peers PeerSource

	trans *raftTransport
	fwd   *mux
	table *table

	state    atomic.Int32 // stateNew, stateRunning, stateClosed
	rf       atomic.Pointer[raft.Raft]
	st       *stores
	open     func(*Config, hclog.Logger) (*stores, error) // openStores; tests open others
	stopping chan struct{}
	closeMu  sync.Mutex
	closeErr error
	track    tracker

	lead atomic.Pointer[epoch] // this node's current leadership, nil when not leading
	// settling is set while the leader's reconciliation round runs or a
	// follow-up round is due (its last round asked Raft for a change);
	// clear, the voters and releases match what membership said last.
	settling atomic.Bool
	leaderBC broadcast // leader changes (observed, gained, lost, ready)
	members  broadcast // PeerSource changes
	verify   verifier
	propSeq  atomic.Uint64 // proposal ids; a random 63-bit start, so the ids of a past life replayed from the log do not match new ones

	bootMu  sync.Mutex
	freshTo map[string]time.Time // bootstrap.go: peers told "fresh", when

	fwdSlots chan struct{}
	rel      releaser
	fence    fence // locks.go

	ownMu sync.Mutex
	owned map[pid.PID]*holder

	cancelPeers func()
	conflict    atomic.Pointer[ConflictCheck]

	feed feed                   // a member's: the clients it feeds
	cl   clientState            // a client's: its subscription
	hint atomic.Pointer[string] // a client's: the leader its feeder names

	// outside: this node runs Raft but is not in the latest configuration
	// (roleLoop), so its table is fed like a client's. role, voters and
	// standbys are what roleLoop read last.
	outside  atomic.Bool
	role     atomic.Int32
	voters   atomic.Int32
	standbys atomic.Int32

	confChanges   atomic.Uint64 // configuration changes this node asked for as leader
	leaderChanges atomic.Uint64 // leaders observed, each new one counted once
	churnBursts   atomic.Uint64 // runs of configuration changes this node made as leader

	forwardedIn   atomic.Uint64
	forwardedOut  atomic.Uint64
	forwardedBusy atomic.Uint64
	unknown       atomic.Uint64

	// localReads, set only by tests, makes Lookup read the local replica:
	// a deliberately broken registry the linearizability checker must
	// catch.
	localReads bool
}

const (
	stateNew int32 = iota
	stateRunning
	stateClosed
)

// epoch is one leadership of this node: lost closes when it ends, ready
// when the leader's no-op entry of this term is applied here, so the local
// table holds every entry committed before the term began. props queues
// the commands proposed during it (batch.go).
type epoch struct {
	term  uint64
	lost  chan struct{}
	ready chan struct{}
	props *proposals
}

// holder tracks a local process that registered names through this node,
// so that its release is not skipped while the local replica has not yet
// applied the registration, and is redone if a register was still in
// flight when the release committed.
type holder struct {
	inflight int  // registers not finished
	has      bool // a register succeeded or has an unknown outcome
	released bool // ReleasePID was called
}

// package node asserts that *Registry is a runtime.NameService, so this
// package needs nothing of the runtime but its value types.
var _ registry.Registry = (*Registry)(nil)

// New returns a registry for cfg.Node and registers its handlers on the
// raft and registry streams of streams, which must not be started yet.
// peers is the membership the voters and name releases follow. Nothing
// runs until Start.
func New(cfg Config, streams Streams, peers PeerSource) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if streams == nil || peers == nil {
		return nil, fmt.Errorf("%w: streams and peers are required", ErrInvalidConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Registry{
		cfg: cfg,
		log: cfg.Logger.With("component", "raftreg", "node", cfg.Node),
		self: Member{Name: cfg.Node, Voter: cfg.Voter, State: MemberAlive, Priority: cfg.Priority,
			FailureDomain: cfg.FailureDomain},
		peers:    peers,
		table:    newTable(cfg.Node),
		stopping: make(chan struct{}),
		fwdSlots: make(chan struct{}, cfg.MaxForwarded),
		owned:    make(map[pid.PID]*holder),
		open:     openStores,
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	r.propSeq.Store(binary.BigEndian.Uint64(seed[:]) >> 1)
	r.trans = newRaftTransport(cfg.Node, streams, cfg.RPCTimeout, cfg.SnapshotChunk, cfg.MaxSnapshot)
	r.fwd = newMux(transport.StreamRegistry, streams, r.serveForward)
	r.rel.init(r)
	r.feed.init(r)
	r.fwd.push = r.receivePush
	if cfg.Client {
		r.role.Store(int32(RoleClient))
	} else {
		r.table.feed = &r.feed
	}
	if err := streams.Register(transport.StreamRaft, r.trans.handle); err != nil {
		return nil, fmt.Errorf("raftreg: raft stream: %w", err)
	}
	if err := streams.Register(transport.StreamRegistry, r.fwd.handle); err != nil {
		return nil, fmt.Errorf("raftreg: registry stream: %w", err)
	}
	return r, nil
}

// Start opens the stores under DataDir (or in memory), starts Raft and the
// registry's goroutines: the leader duties, the release queue, and, on a
// voter-eligible node without Raft state, the bootstrap watch. It returns
// once Raft runs; the cluster forms in the background. Start once.
func (r *Registry) Start() error {
	if !r.state.CompareAndSwap(stateNew, stateRunning) {
		return ErrStarted
	}
	if r.cfg.Client {
		return r.startClient()
	}
	if err := r.startRaft(); err != nil {
		r.state.Store(stateClosed)
		r.closeOnce()
		return err
	}
	return nil
}

func (r *Registry) startRaft() error {
	hlog := newRaftLogger(r.cfg.Logger)
	st, err := r.open(&r.cfg, hlog)
	if err != nil {
		return err
	}
	hasState, err := raft.HasExistingState(st.logs, st.stable, st.snaps)
	if err != nil {
		_ = st.close()
		return fmt.Errorf("raftreg: reading raft state: %w", err)
	}
	if err := st.checkMember(hasState); err != nil {
		_ = st.close()
		return err
	}
	conf := r.raftConfig(hlog)
	rf, err := newRaft(conf, r.table, st, r.trans)
	if err != nil {
		_ = st.close()
		return fmt.Errorf("raftreg: starting raft: %w", err)
	}
	r.st = st
	r.rf.Store(rf)
	r.trans.start()
	obs := make(chan raft.Observation, 16)
	var (
		lastMu     sync.Mutex
		lastLeader raft.ServerID
	)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		lo, ok := o.Data.(raft.LeaderObservation)
		if ok && lo.LeaderID != "" {
			lastMu.Lock()
			if lo.LeaderID != lastLeader {
				lastLeader = lo.LeaderID
				r.leaderChanges.Add(1)
			}
			lastMu.Unlock()
		}
		return ok
	})
	rf.RegisterObserver(observer)
	r.track.start(func() { r.watchLeader(obs) })
	r.track.start(r.leaderLoop)
	r.track.start(r.rel.run)
	r.track.start(r.feed.run)
	r.track.start(r.fenceLoop)
	downed := func() { r.fenceAll("the cluster declared this node dead") }
	r.table.downed.Store(&downed)
	r.cancelPeers = r.peers.OnChange(r.members.notify)
	r.cl.fresh = true
	r.checkRole()
	r.track.start(r.roleLoop)
	if !hasState && r.cfg.Voter && r.cfg.BootstrapExpect > 0 {
		r.track.start(r.bootstrapLoop)
	}
	r.log.Info("raft started", "existing_state", hasState, "voter", r.cfg.Voter)
	return nil
}

// newRaft is raft.NewRaft, which panics when it cannot read an entry of
// the log it replays at start; the check at open reads every entry first,
// so only a store changed since then gets there.
func newRaft(conf *raft.Config, fsm raft.FSM, st *stores, trans raft.Transport) (rf *raft.Raft, err error) {
	defer func() {
		if p := recover(); p != nil {
			rf, err = nil, fmt.Errorf("%w: reading the log at start: %v", ErrStoreDamaged, p)
		}
	}()
	return raft.NewRaft(conf, fsm, st.logs, st.stable, st.snaps, trans)
}

func (r *Registry) raftConfig(hlog hclog.Logger) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(r.cfg.Node)
	c.HeartbeatTimeout = r.cfg.HeartbeatTimeout
	c.ElectionTimeout = r.cfg.ElectionTimeout
	c.LeaderLeaseTimeout = r.cfg.LeaderLeaseTimeout
	c.CommitTimeout = r.cfg.CommitTimeout
	c.SnapshotThreshold = r.cfg.SnapshotThreshold
	c.SnapshotInterval = r.cfg.SnapshotInterval
	c.TrailingLogs = r.cfg.TrailingLogs
	c.MaxAppendEntries = r.cfg.MaxAppendEntries
	// Proposals wait for their result through the state machine, never on
	// raft's futures (see proposeLocal), so the buffered apply channel is
	// safe to use: more entries per batch under load.
	c.BatchApplyCh = true
	// A node removed while it was wrongly declared dead must stay a quiet
	// follower until the leader adds it back, not shut its Raft down.
	c.ShutdownOnRemove = false
	c.NoLegacyTelemetry = true
	c.Logger = hlog
	return c
}

// Close stops the registry: Raft shuts down (a leader simply stops; the
// others elect a new one), calls in flight fail, watchers end with
// registry.ErrClosed, the stores close. Pending releases that did not
// commit are dropped here; the leader's reconciliation releases the names
// of this node if it stays away. Close is idempotent; call it after Start
// returned (or instead of Start), not while Start runs.
func (r *Registry) Close() error {
	r.state.Store(stateClosed)
	return r.closeOnce()
}

func (r *Registry) closeOnce() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	select {
	case <-r.stopping:
		return r.closeErr
	default:
	}
	close(r.stopping)
	r.track.close()
	// Raft strands a VerifyLeader future that is queued when it shuts
	// down (its verify channel is buffered): let the round in progress
	// finish while raft still runs.
	r.verify.stop()
	if r.cancelPeers != nil {
		r.cancelPeers()
	}
	_ = r.trans.Close()
	if rf := r.rf.Load(); rf != nil {
		if err := rf.Shutdown().Error(); err != nil {
			r.closeErr = fmt.Errorf("raftreg: raft shutdown: %w", err)
		}
	}
	r.track.wait()
	r.table.close()
	if r.st != nil {
		if err := r.st.close(); err != nil && r.closeErr == nil {
			r.closeErr = fmt.Errorf("raftreg: closing stores: %w", err)
		}
	}
	return r.closeErr
}

func (r *Registry) running() bool { return r.state.Load() == stateRunning }

// raft returns the Raft instance once started, nil before.
func (r *Registry) raft() *raft.Raft { return r.rf.Load() }

// leaderName is the node this replica believes leads, "" if none.
func (r *Registry) leaderName() string {
	if r.cfg.Client {
		return r.clientLeader()
	}
	if r.outside.Load() {
		// Raft may remember the leader of a configuration this node has
		// left; the feeder knows the current one.
		if h := r.clientLeader(); h != "" {
			return h
		}
	}
	rf := r.raft()
	if rf == nil {
		return ""
	}
	_, id := rf.LeaderWithID()
	return string(id)
}

// watchLeader turns raft's leader observations into leaderBC wake-ups.
func (r *Registry) watchLeader(obs chan raft.Observation) {
	for {
		select {
		case <-obs:
			r.leaderBC.notify()
		case <-r.stopping:
			return
		}
	}
}

// leaderLoop follows raft's leadership signal: each leadership is an
// epoch, served by goroutines (serveEpoch) that end with it.
func (r *Registry) leaderLoop() {
	rf := r.raft()
	var cur *epoch
	var done chan struct{}
	end := func() {
		if cur == nil {
			return
		}
		r.lead.Store(nil)
		close(cur.lost)
		<-done
		cur = nil
		r.leaderBC.notify()
	}
	for {
		select {
		case isLeader := <-rf.LeaderCh():
			end()
			if !isLeader {
				continue
			}
			cur = &epoch{term: rf.CurrentTerm(), lost: make(chan struct{}), ready: make(chan struct{}), props: newProposals()}
			done = make(chan struct{})
			r.lead.Store(cur)
			e := cur
			if !r.track.start(func() { defer close(done); r.serveEpoch(e) }) {
				close(done)
			}
			r.leaderBC.notify()
			r.log.Info("leading", "term", cur.term)
		case <-r.stopping:
			end()
			return
		}
	}
}

// serveEpoch runs the goroutines of leadership e, batchLoop and
// leadEpoch, until it ends.
func (r *Registry) serveEpoch(e *epoch) {
	batching := make(chan struct{})
	if !r.track.start(func() { defer close(batching); r.batchLoop(e) }) {
		close(batching)
	}
	r.leadEpoch(e)
	<-batching
}

// OnRevoke implements runtime.NameService: f is called, from the goroutine
// applying Raft entries, for each name the cluster took from a process of
// this node (the node was declared dead, or a snapshot no longer has the
// name). f must not block. The process may have ended already.
func (r *Registry) OnRevoke(f func(name string, p pid.PID)) {
	if f == nil {
		r.table.revoke.Store(nil)
		return
	}
	r.table.revoke.Store(&f)
}

// Local returns the names of this node's replica with their owners, sorted
// by name, when it holds at most limit of them (nil otherwise), and how
// many it holds. It asks nothing of the leader: it answers in a minority
// partition too, possibly stale, and never waits.
func (r *Registry) Local(limit int) ([]registry.Entry, int) {
	return r.table.listUpTo(limit)
}

// OnClaim implements runtime.NameService: f is called, from the goroutine
// applying Raft entries, for each name this replica gives to a process of
// this node (a registration committed, or a snapshot installed that has
// it). f must not block; it may call ReleasePID.
func (r *Registry) OnClaim(f func(name string, p pid.PID)) {
	if f == nil {
		r.table.claim.Store(nil)
		return
	}
	r.table.claim.Store(&f)
}

// Resolve returns the holder of name, CONSISTENT or STRONG (a pending
// reservation included), from the local replica: fast, possibly stale; it
// works without quorum.
func (r *Registry) Resolve(name string) (pid.PID, bool) { return r.table.lookup(name) }

// Holder returns the holder of name in the STRONG scope (strong) or the
// CONSISTENT one, from the local replica.
func (r *Registry) Holder(name string, strong bool) (pid.PID, bool) {
	e, ok := r.table.get(name)
	if !ok || e.Strong != strong {
		return pid.PID{}, false
	}
	return e.PID, true
}

// Stats are the registry's gauges and counters, for metrics.
type Stats struct {
	// RaftState is 0 follower, 1 candidate, 2 leader, 3 shutdown (also
	// before Start), as wippy_raft_state, or 4 (RaftClient) on a client,
	// whose CommitIndex and AppliedIndex are its copy's index.
	RaftState    uint8
	Term         uint64
	CommitIndex  uint64 // wippy_raft_commit_index
	AppliedIndex uint64
	LastIndex    uint64
	Leader       string
	// Names is the number of CONSISTENT names in the local replica
	// (wippy_registry_names{scope="consistent"}), Strong of STRONG ones
	// (scope="strong"), Pending of STRONG reservations not active yet.
	Names, Strong, Pending int
	// ReleasesPending counts releases waiting to commit.
	ReleasesPending int
	// ForwardedIn counts requests served for other nodes, ForwardedOut
	// requests this node sent to the leader.
	ForwardedIn, ForwardedOut uint64
	// ForwardedBusy counts requests of other nodes refused because
	// MaxForwarded were being served already.
	ForwardedBusy uint64
	// Unknown counts changes that ended with an unknown outcome.
	Unknown uint64
	// Revoked counts names taken from processes of this node by the cluster.
	Revoked uint64
	// RPCDropped counts Raft RPCs refused (queue full, malformed);
	// StrayReplies responses that came after their caller gave up.
	RPCDropped, StrayReplies uint64
	// BadEntries counts log entries that did not decode (should stay 0).
	BadEntries uint64
	// Fed is the number of clients this member feeds; FeedResets counts
	// the times its queue overflowed and every client had to start over.
	Fed        int
	FeedResets uint64
	// Role is this node's part in the configuration; Voters and Standbys
	// count the voters and non-voters of the latest configuration this
	// node knows (raft_voters, raft_non_voters).
	Role             Role
	Voters, Standbys int
	// LeaderChanges counts the leaders this node observed, each new one
	// once (raft_leader_changes_total). ConfChanges counts the
	// configuration changes this node asked for while leading.
	LeaderChanges, ConfChanges uint64
	// ChurnBursts counts the runs of back-to-back configuration changes
	// this node made while leading (raft_voter_churn_burst_total).
	ChurnBursts uint64
	// Appends counts the AppendEntries RPCs this node sent, heartbeats
	// included: a leader's replication work.
	Appends uint64
	// LastContact is when this node last heard from a leader (zero: never,
	// or this node leads, or a client).
	LastContact time.Time
}

// Servers returns the voters and the non-voters of the latest Raft
// configuration this node knows, sorted by the configuration's order;
// nil on a client.
func (r *Registry) Servers() (voters, standbys []string) {
	rf := r.raft()
	if rf == nil {
		return nil, nil
	}
	f := rf.GetConfiguration()
	if f.Error() != nil {
		return nil, nil
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, string(s.ID))
		} else {
			standbys = append(standbys, string(s.ID))
		}
	}
	return voters, standbys
}

// RaftClient is Stats.RaftState on a client.
const RaftClient = 4

// Stats returns the current figures.
func (r *Registry) Stats() Stats {
	s := Stats{
		RaftState:       uint8(raft.Shutdown),
		Names:           int(r.table.names.Load() - r.table.strong.Load()),
		Strong:          int(r.table.strong.Load()),
		Pending:         int(r.table.npending.Load()),
		ReleasesPending: r.rel.pending(),
		ForwardedIn:     r.forwardedIn.Load(),
		ForwardedOut:    r.forwardedOut.Load(),
		ForwardedBusy:   r.forwardedBusy.Load(),
		Unknown:         r.unknown.Load(),
		Revoked:         r.table.revoked.Load(),
		RPCDropped:      r.trans.dropped.Load() + r.trans.mux.bad.Load() + r.fwd.bad.Load(),
		StrayReplies:    r.trans.mux.stray.Load() + r.fwd.stray.Load(),
		BadEntries:      r.table.bad.Load(),
	}
	s.Fed, s.FeedResets = r.feed.subscribers(), r.feed.reset.Load()
	s.Role, s.Voters, s.Standbys = Role(r.role.Load()), int(r.voters.Load()), int(r.standbys.Load())
	s.LeaderChanges, s.ConfChanges, s.Appends = r.leaderChanges.Load(), r.confChanges.Load(), r.trans.appends.Load()
	s.ChurnBursts = r.churnBursts.Load()
	if r.cfg.Client {
		s.RaftState, s.Leader = RaftClient, r.leaderName()
		s.CommitIndex, s.AppliedIndex = r.table.index(), r.table.index()
	}
	if rf := r.raft(); rf != nil {
		s.RaftState = uint8(rf.State())
		s.Term = rf.CurrentTerm()
		s.CommitIndex = rf.CommitIndex()
		s.AppliedIndex = rf.AppliedIndex()
		s.LastIndex = rf.LastIndex()
		s.Leader = r.leaderName()
		s.LastContact = rf.LastContact()
	}
	return s
}

// errors used between the pieces of this package.
var (
	errNotLeader = errors.New("raftreg: not the leader")
	errLost      = errors.New("raftreg: leadership lost")
)
