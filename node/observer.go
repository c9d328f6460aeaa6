package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wippyd/wippyd/cluster/membership"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/pid"
)

// The observer: the views behind the admin endpoint's web page (GET /)
// and its /v1/cluster and /v1/nodes/{node}/... endpoints. A view of
// another node is asked of that node over the mesh (observer_mesh.go);
// every view is answered from local reads that never stop a process.
// Nothing here exposes a message payload.

// Observer bounds and timings.
const (
	// obsSampleEvery is the period of the rate samples; obsSamples of
	// them are kept (5 minutes).
	obsSampleEvery = 2 * time.Second
	obsSamples     = 150
	// obsAskTimeout bounds a question to another node.
	obsAskTimeout = 3 * time.Second
	// obsMaxPerPage bounds a page of processes or names.
	obsMaxPerPage  = 500
	obsDefPerPage  = 50
	obsMaxMembers  = 200 // members listed per process group
	obsReasonLimit = 200
)

// observer answers the observer's questions about this node.
type observer struct {
	n    *Node
	mesh *obsMesh // nil on a standalone node

	mu      sync.Mutex
	samples []ObsSample // oldest first, at most obsSamples
	last    ObsSample
	lastIn  uint64
	lastSp  uint64

	stopc chan struct{}
	done  chan struct{}
}

func newObserver(n *Node) (*observer, error) {
	o := &observer{n: n, stopc: make(chan struct{}), done: make(chan struct{})}
	if n.cluster != nil {
		m, err := newObsMesh(n.cluster.ep, o.answer)
		if err != nil {
			return nil, err
		}
		o.mesh = m
	}
	return o, nil
}

// start runs the rate sampler until stop.
func (o *observer) start() {
	o.sample(time.Now())
	go func() {
		defer close(o.done)
		t := time.NewTicker(obsSampleEvery)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				o.sample(now)
			case <-o.stopc:
				return
			}
		}
	}()
}

// stop ends the sampler (if started) and the mesh's answers.
func (o *observer) stop(started bool) {
	close(o.stopc)
	if started {
		<-o.done
	}
	if o.mesh != nil {
		o.mesh.stop()
	}
}

// ObsSample is one point of a node's rate charts: messages delivered and
// processes spawned per second over the sample period ending at T.
type ObsSample struct {
	T      int64   `json:"t"` // Unix milliseconds
	Msgs   float64 `json:"msgs_per_s"`
	Spawns float64 `json:"spawns_per_s"`
}

func (o *observer) sample(now time.Time) {
	c := o.n.rt.Counters()
	in, sp := c.ReceivedLocal+c.ReceivedRemote, c.Spawns
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last.T != 0 {
		dt := float64(now.UnixMilli()-o.last.T) / 1000
		if dt > 0 {
			s := ObsSample{T: now.UnixMilli(), Msgs: float64(in-o.lastIn) / dt, Spawns: float64(sp-o.lastSp) / dt}
			if len(o.samples) == obsSamples {
				o.samples = append(o.samples[:0], o.samples[1:]...)
			}
			o.samples = append(o.samples, s)
		}
	}
	o.last.T, o.lastIn, o.lastSp = now.UnixMilli(), in, sp
}

func (o *observer) history() []ObsSample {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.samples)
}

// rates is the latest sample (zero before the second).
func (o *observer) rates() ObsSample {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.samples) == 0 {
		return ObsSample{}
	}
	return o.samples[len(o.samples)-1]
}

// obsError is an answer's failure: its HTTP status and message.
type obsError struct {
	status int
	msg    string
}

func (e *obsError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &obsError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &obsError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// jsonError is the body of a failed answer: {"error": msg}.
func jsonError(msg string) []byte {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

// answer works out a request about this node (from its own admin
// endpoint or another node's): the status and JSON body.
func (o *observer) answer(q obsRequest) (int, []byte) {
	v, err := o.view(q)
	if err != nil {
		var oe *obsError
		if errors.As(err, &oe) {
			return oe.status, jsonError(oe.msg)
		}
		return http.StatusInternalServerError, jsonError(err.Error())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, jsonError(err.Error())
	}
	status := http.StatusOK
	if _, ok := v.(ObsAction); ok {
		status = http.StatusAccepted
	}
	return status, b
}

// The kinds of request.
const (
	obsKindNode      = "node"
	obsKindBrief     = "brief"
	obsKindProcesses = "processes"
	obsKindProcess   = "process"
	obsKindNames     = "names"
	obsKindGroups    = "groups"
	obsKindCancel    = "cancel"
	obsKindTerminate = "terminate"
	obsKindRestart   = "restart"
)

func (o *observer) view(q obsRequest) (any, error) {
	a := q.Args
	switch q.Kind {
	case obsKindNode:
		return o.nodeView(), nil
	case obsKindBrief:
		return o.brief(), nil
	case obsKindProcesses:
		return o.processes(a)
	case obsKindProcess:
		return o.process(a["pid"])
	case obsKindNames:
		return o.names(a)
	case obsKindGroups:
		return o.groupsView(a)
	case obsKindCancel, obsKindTerminate:
		return o.signal(q.Kind, a["pid"], a["reason"], a["who"])
	case obsKindRestart:
		return o.restart(a["service"], a["who"])
	}
	return nil, badRequest("observer: unknown request %q", q.Kind)
}

// ObsBrief is one node's line in the cluster view, as the node tells it.
type ObsBrief struct {
	Node          string    `json:"node"`
	RaftRole      string    `json:"raft_role"`
	Leader        string    `json:"leader"`
	FailureDomain string    `json:"failure_domain"`
	Processes     int       `json:"processes"`
	Rates         ObsSample `json:"rates"`
	Version       string    `json:"version"`
	UptimeS       float64   `json:"uptime_s"`
}

func (o *observer) brief() ObsBrief {
	n := o.n
	role, leader := n.raftRole()
	return ObsBrief{Node: n.cfg.Node.Name, RaftRole: role, Leader: leader, FailureDomain: n.failureDomain(),
		Processes: n.rt.ProcessCount(), Rates: o.rates(), Version: Version, UptimeS: time.Since(n.startedAt).Seconds()}
}

// raftRole is this node's part in the Raft registry as its replica sees
// it (leader, voter, standby, non-member), or what it advertises when its
// Raft does not run (client, none); "" on a standalone node. leader is
// the leader it knows.
func (n *Node) raftRole() (role, leader string) {
	if n.cluster == nil {
		return "", ""
	}
	if n.cluster.names != nil {
		if v, ok := n.cluster.names.View(); ok {
			role, leader = v.Role, v.Leader
			if n.cluster.role == membership.RoleClient {
				role = membership.RoleClient.String()
			}
			return role, leader
		}
	}
	return n.cluster.role.String(), ""
}

// ObsNodeView is GET /v1/nodes/{node}: the node's status, its rates over
// the last minutes and the entries its processes were spawned from.
type ObsNodeView struct {
	Status
	RaftRole      string      `json:"raft_role"`
	FailureDomain string      `json:"failure_domain"`
	Rates         ObsSample   `json:"rates"`
	History       []ObsSample `json:"history"`
	Entries       []string    `json:"entries"`
}

func (o *observer) nodeView() ObsNodeView {
	role, _ := o.n.raftRole()
	h := o.history()
	if h == nil {
		h = []ObsSample{}
	}
	return ObsNodeView{Status: o.n.Status(), RaftRole: role, FailureDomain: o.n.failureDomain(),
		Rates: o.rates(), History: h, Entries: o.n.rt.Entries()}
}

// ObsProcess is one row of the process list.
type ObsProcess struct {
	PID     string    `json:"pid"`
	Host    string    `json:"host"`
	Entry   string    `json:"entry"`
	Actor   string    `json:"actor,omitempty"`
	State   string    `json:"state"`
	Names   []string  `json:"names"`
	Mailbox int       `json:"mailbox"`
	In      uint64    `json:"messages_in"`
	Out     uint64    `json:"messages_out"`
	Started time.Time `json:"started"`
	AgeS    float64   `json:"age_s"`
}

func obsProcess(r runtime.ProcessRow, now time.Time) ObsProcess {
	names := r.Names
	if names == nil {
		names = []string{}
	}
	return ObsProcess{PID: r.PID.String(), Host: r.Host, Entry: r.Entry, Actor: r.Actor, State: r.State.String(),
		Names: names, Mailbox: r.Mailbox, In: r.In, Out: r.Out, Started: r.Born, AgeS: now.Sub(r.Born).Seconds()}
}

// ObsProcessPage is GET /v1/nodes/{node}/processes.
type ObsProcessPage struct {
	Node      string       `json:"node"`
	Page      int          `json:"page"`
	PerPage   int          `json:"per_page"`
	Total     int          `json:"total"`
	Pages     int          `json:"pages"`
	Processes []ObsProcess `json:"processes"`
}

// pageArgs reads page (from 1) and per_page (1 to obsMaxPerPage).
func pageArgs(a map[string]string) (page, per int, err error) {
	page, per = 1, obsDefPerPage
	if s := a["page"]; s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 || page > 1<<30 {
			return 0, 0, badRequest("observer: page must be a whole number from 1, got %q", s)
		}
	}
	if s := a["per_page"]; s != "" {
		if per, err = strconv.Atoi(s); err != nil || per < 1 || per > obsMaxPerPage {
			return 0, 0, badRequest("observer: per_page must be a whole number from 1 to %d, got %q", obsMaxPerPage, s)
		}
	}
	return page, per, nil
}

var obsStates = []string{"ready", "running", "blocked", "idle"}

func (o *observer) processes(a map[string]string) (ObsProcessPage, error) {
	page, per, err := pageArgs(a)
	if err != nil {
		return ObsProcessPage{}, err
	}
	f := runtime.ProcessFilter{Host: a["host"], State: a["state"], Entry: a["entry"], Name: a["name"]}
	if f.State != "" && !slices.Contains(obsStates, f.State) {
		return ObsProcessPage{}, badRequest("observer: state must be one of %v, got %q", obsStates, f.State)
	}
	if f.Host != "" && !slices.Contains(o.n.hostIDs(), f.Host) {
		return ObsProcessPage{}, notFound("observer: node %s has no host %q", o.n.cfg.Node.Name, f.Host)
	}
	rows, total := o.n.rt.ProcessPage(f, (page-1)*per, per)
	out := ObsProcessPage{Node: o.n.cfg.Node.Name, Page: page, PerPage: per, Total: total,
		Pages: (total + per - 1) / per, Processes: make([]ObsProcess, len(rows))}
	now := time.Now()
	for i, r := range rows {
		out.Processes[i] = obsProcess(r, now)
	}
	return out, nil
}

// ObsProcessDetail is GET /v1/nodes/{node}/processes/{pid}.
type ObsProcessDetail struct {
	Node string `json:"node"`
	ObsProcess
	Links       []string `json:"links"`
	Monitors    []string `json:"monitors"`
	MonitoredBy []string `json:"monitored_by"`
	Topics      []string `json:"topics"`
	TrapLinks   bool     `json:"trap_links"`
}

// localPID parses s as a PID of a process of this node.
func (o *observer) localPID(s string) (pid.PID, error) {
	p, err := pid.Parse(s)
	if err != nil {
		return pid.PID{}, badRequest("observer: %q is not a PID ({node@host|0x...})", s)
	}
	if self := o.n.cfg.Node.Name; p.Node != self {
		return pid.PID{}, badRequest("observer: %s is a process of node %q, not of %s", s, p.Node, self)
	}
	return p, nil
}

func (o *observer) process(s string) (ObsProcessDetail, error) {
	p, err := o.localPID(s)
	if err != nil {
		return ObsProcessDetail{}, err
	}
	d, ok := o.n.rt.Process(p)
	if !ok {
		return ObsProcessDetail{}, notFound("observer: no live process %s on node %s", s, o.n.cfg.Node.Name)
	}
	str := func(ps []pid.PID) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.String()
		}
		return out
	}
	topics := d.Topics
	if topics == nil {
		topics = []string{}
	}
	return ObsProcessDetail{Node: o.n.cfg.Node.Name, ObsProcess: obsProcess(d.ProcessRow, time.Now()),
		Links: str(d.Links), Monitors: str(d.Monitors), MonitoredBy: str(d.MonitoredBy),
		Topics: topics, TrapLinks: d.TrapLinks}, nil
}

// ObsNames is GET /v1/nodes/{node}/names: the names this node resolves,
// by scope (local; on a clustered node eventual, and with Raft consistent
// and strong: this node's replicas), each sorted by name, filtered by a
// substring and paginated.
type ObsNames struct {
	Node   string                 `json:"node"`
	Scopes map[string]ObsNameList `json:"scopes"`
}

// ObsNameList is one page of one scope's names.
type ObsNameList struct {
	Total   int          `json:"total"` // names matching the filter
	Page    int          `json:"page"`
	PerPage int          `json:"per_page"`
	Pages   int          `json:"pages"`
	Names   []NameStatus `json:"names"`
}

var obsScopes = []string{"local", "eventual", "consistent", "strong"}

// scopeNames returns the names of scope, sorted by name; false when the
// node has no such scope.
func (o *observer) scopeNames(scope string) ([]NameStatus, bool) {
	n := o.n
	var out []NameStatus
	switch scope {
	case "local":
		local, _ := n.rt.LocalNames(math.MaxInt)
		for _, e := range local {
			out = append(out, NameStatus{Name: e.Name, PID: e.PID.String(), Scope: "local"})
		}
		return out, true
	case "eventual":
		if n.cluster == nil {
			return nil, false
		}
		ev, _ := n.cluster.ev.List(math.MaxInt)
		for _, e := range ev {
			out = append(out, NameStatus{Name: e.Name, PID: e.PID.String(), Scope: "eventual"})
		}
		return out, true
	case "consistent", "strong":
		if n.cluster == nil || n.cluster.names == nil {
			return nil, false
		}
		rn, _ := n.cluster.names.Local(math.MaxInt)
		for _, e := range rn {
			if e.Strong == (scope == "strong") {
				out = append(out, NameStatus{Name: e.Name, PID: e.PID.String(), Scope: scope, Pending: e.Pending})
			}
		}
		return out, true
	}
	return nil, false
}

func (o *observer) names(a map[string]string) (ObsNames, error) {
	page, per, err := pageArgs(a)
	if err != nil {
		return ObsNames{}, err
	}
	scopes := obsScopes
	if s := a["scope"]; s != "" {
		if !slices.Contains(obsScopes, s) {
			return ObsNames{}, badRequest("observer: scope must be one of %v, got %q", obsScopes, s)
		}
		if _, ok := o.scopeNames(s); !ok {
			return ObsNames{}, notFound("observer: node %s has no %s names (standalone, or no Raft)", o.n.cfg.Node.Name, s)
		}
		scopes = []string{s}
	}
	out := ObsNames{Node: o.n.cfg.Node.Name, Scopes: map[string]ObsNameList{}}
	for _, s := range scopes {
		all, ok := o.scopeNames(s)
		if !ok {
			continue
		}
		if f := a["name"]; f != "" {
			all = slices.DeleteFunc(all, func(ns NameStatus) bool { return !strings.Contains(ns.Name, f) })
		}
		l := ObsNameList{Total: len(all), Page: page, PerPage: per, Pages: (len(all) + per - 1) / per, Names: []NameStatus{}}
		if from := (page - 1) * per; from < len(all) {
			l.Names = all[from:min(len(all), from+per)]
		}
		out.Scopes[s] = l
	}
	return out, nil
}

// ObsGroups is GET /v1/nodes/{node}/groups: the process groups of every
// pg scope as this node sees them (every node's members), groups sorted
// by name, filtered by a substring and paginated per scope.
type ObsGroups struct {
	Node   string          `json:"node"`
	Scopes []ObsGroupScope `json:"scopes"`
}

// ObsGroupScope is one page of one pg scope's groups.
type ObsGroupScope struct {
	Scope   string     `json:"scope"`
	Total   int        `json:"total"` // groups matching the filter
	Page    int        `json:"page"`
	PerPage int        `json:"per_page"`
	Pages   int        `json:"pages"`
	Groups  []ObsGroup `json:"groups"`
}

// ObsGroup is one group: its members (at most 200 listed) and their count.
type ObsGroup struct {
	Name    string   `json:"name"`
	Total   int      `json:"total"`
	Members []string `json:"members"`
}

func (o *observer) groupsView(a map[string]string) (ObsGroups, error) {
	page, per, err := pageArgs(a)
	if err != nil {
		return ObsGroups{}, err
	}
	scopes := o.n.pgScopes
	if s := a["scope"]; s != "" {
		if !slices.Contains(scopes, s) {
			return ObsGroups{}, notFound("observer: node %s has no pg scope %q", o.n.cfg.Node.Name, s)
		}
		scopes = []string{s}
	}
	out := ObsGroups{Node: o.n.cfg.Node.Name, Scopes: []ObsGroupScope{}}
	g := o.n.groups
	for _, scope := range scopes {
		names := g.Groups(scope, false)
		if f := a["group"]; f != "" {
			names = slices.DeleteFunc(names, func(n string) bool { return !strings.Contains(n, f) })
		}
		slices.Sort(names)
		sc := ObsGroupScope{Scope: scope, Total: len(names), Page: page, PerPage: per,
			Pages: (len(names) + per - 1) / per, Groups: []ObsGroup{}}
		if from := (page - 1) * per; from < len(names) {
			names = names[from:min(len(names), from+per)]
		} else {
			names = nil
		}
		for _, name := range names {
			ms := g.Members(scope, name, false)
			og := ObsGroup{Name: name, Total: len(ms), Members: []string{}}
			for _, m := range ms[:min(len(ms), obsMaxMembers)] {
				og.Members = append(og.Members, m.String())
			}
			sc.Groups = append(sc.Groups, og)
		}
		out.Scopes = append(out.Scopes, sc)
	}
	return out, nil
}

// ObsAction is the answer to an action: what was done, to what, on which
// node.
type ObsAction struct {
	Node   string `json:"node"`
	Action string `json:"action"`
	Target string `json:"target"`
}

// signal cancels or terminates a live local process for who.
func (o *observer) signal(kind, s, reason, who string) (ObsAction, error) {
	p, err := o.localPID(s)
	if err != nil {
		return ObsAction{}, err
	}
	if len(reason) > obsReasonLimit {
		return ObsAction{}, badRequest("observer: reason longer than %d bytes", obsReasonLimit)
	}
	if _, ok := o.n.rt.Process(p); !ok {
		return ObsAction{}, notFound("observer: no live process %s on node %s", s, o.n.cfg.Node.Name)
	}
	if reason == "" {
		reason = "cancelled from the admin endpoint"
	}
	if kind == obsKindCancel {
		err = o.n.rt.Cancel(p, reason)
	} else {
		err = o.n.rt.Terminate(p)
	}
	o.n.log.Warn("admin action", "action", kind, "pid", s, "who", who, "err", err)
	if err != nil {
		return ObsAction{}, &obsError{http.StatusConflict, "observer: " + err.Error()}
	}
	return ObsAction{Node: o.n.cfg.Node.Name, Action: kind, Target: s}, nil
}

func (o *observer) restart(id, who string) (ObsAction, error) {
	err := o.n.RestartService(id)
	o.n.log.Warn("admin action", "action", obsKindRestart, "service", id, "who", who, "err", err)
	switch {
	case errors.Is(err, ErrUnknownService):
		return ObsAction{}, notFound("observer: node %s has no service %q", o.n.cfg.Node.Name, id)
	case err != nil:
		return ObsAction{}, &obsError{http.StatusConflict, "observer: " + err.Error()}
	}
	return ObsAction{Node: o.n.cfg.Node.Name, Action: obsKindRestart, Target: id}, nil
}

// ask answers q about node: this node's own answer, or the one node gives
// over the mesh.
func (o *observer) ask(ctx context.Context, node string, q obsRequest) (int, []byte) {
	if node == o.n.cfg.Node.Name {
		return o.answer(q)
	}
	if o.mesh == nil {
		return http.StatusNotFound, jsonError(fmt.Sprintf("observer: no node %q: %s is standalone", node, o.n.cfg.Node.Name))
	}
	if !o.n.isMember(node) {
		return http.StatusNotFound, jsonError(fmt.Sprintf("observer: no node %q in %s's view of the cluster", node, o.n.cfg.Node.Name))
	}
	ctx, cancel := context.WithTimeout(ctx, obsAskTimeout)
	defer cancel()
	r, err := o.mesh.ask(ctx, node, q)
	if err != nil {
		return http.StatusBadGateway, jsonError("observer: " + err.Error())
	}
	return r.Status, r.Body
}

// isMember: node is in this node's member table (in any state).
func (n *Node) isMember(node string) bool {
	if n.cluster == nil || n.cluster.ml == nil {
		return false
	}
	_, ok := n.cluster.ml.Member(node)
	return ok
}

// ObsCluster is GET /v1/cluster: every node this node knows, with its
// own account of itself for those that answer.
type ObsCluster struct {
	Node   string           `json:"node"`
	Leader string           `json:"leader"`
	Nodes  []ObsClusterNode `json:"nodes"`
}

// ObsClusterNode is one node of the cluster view.
type ObsClusterNode struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"`
	Local bool   `json:"local"`
	// Leader: this node is the Raft leader the asked node knows.
	Leader bool `json:"leader"`
	// Brief is the node's answer; nil when it is not up or did not
	// answer (Error says why).
	Brief *ObsBrief `json:"brief,omitempty"`
	Error string    `json:"error,omitempty"`
}

func (o *observer) cluster(ctx context.Context) ObsCluster {
	n := o.n
	self := n.cfg.Node.Name
	own := o.brief()
	out := ObsCluster{Node: self, Leader: own.Leader}
	if n.cluster == nil || n.cluster.ml == nil {
		out.Nodes = []ObsClusterNode{{Name: self, State: "alive", Local: true, Brief: &own}}
		return out
	}
	ms := n.cluster.ml.Members()
	out.Nodes = make([]ObsClusterNode, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		cn := &out.Nodes[i]
		*cn = ObsClusterNode{Name: m.Name, Addr: m.Addr.String(), State: m.State.String(), Local: m.Name == self,
			Leader: m.Name == own.Leader}
		if m.Leaving && m.State.Up() {
			cn.State = "leaving"
		}
		switch {
		case cn.Local:
			cn.Brief = &own
		case !m.State.Up():
			cn.Error = "node is " + m.State.String()
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, body := o.ask(ctx, m.Name, obsRequest{Kind: obsKindBrief})
				var b ObsBrief
				if st != http.StatusOK || json.Unmarshal(body, &b) != nil {
					cn.Error = errorOf(body)
					if cn.Error == "" {
						cn.Error = http.StatusText(st)
					}
					return
				}
				cn.Brief = &b
			}()
		}
	}
	wg.Wait()
	slices.SortFunc(out.Nodes, func(a, b ObsClusterNode) int { return cmpString(a.Name, b.Name) })
	return out
}

func errorOf(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error
}

// failureDomain is the zone or rack this node runs in
// (cluster.failure_domain); "" when none is configured.
func (n *Node) failureDomain() string { return n.cfg.Cluster.FailureDomain }
