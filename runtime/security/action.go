package security

import "slices"

// Action is the name of something a process may be allowed or refused
// (SPEC section 8), with Wippy's names. Policies match actions with
// patterns ("process.*"); a call is checked as exactly one action.
type Action string

// The actions the node checks. Each one is listed in actionTable with
// the resource it is checked on; a constant without a row there fails the
// package's tests, and so does a row that docs/security.md does not list.
const (
	ActionSpawn          Action = "process.spawn"
	ActionSpawnMonitored Action = "process.spawn.monitored"
	ActionSpawnLinked    Action = "process.spawn.linked"
	ActionExec           Action = "process.exec"
	ActionHost           Action = "process.host"

	ActionSend      Action = "process.send"
	ActionTerminate Action = "process.terminate"
	ActionCancel    Action = "process.cancel"
	ActionMonitor   Action = "process.monitor"
	ActionUnmonitor Action = "process.unmonitor"
	ActionLink      Action = "process.link"
	ActionUnlink    Action = "process.unlink"

	ActionContext  Action = "process.context"
	ActionSecurity Action = "process.security"

	// Names: the unsuffixed actions are the LOCAL scope's, the suffixed
	// ones the cluster scopes' (Wippy's Permissions table), so a policy
	// can grant local naming apart from cluster-wide naming;
	// "process.registry.register*" covers every scope.
	ActionRegister             Action = "process.registry.register"
	ActionRegisterEventual     Action = "process.registry.register.eventual"
	ActionRegisterConsistent   Action = "process.registry.register.consistent"
	ActionRegisterStrong       Action = "process.registry.register.strong"
	ActionUnregister           Action = "process.registry.unregister"
	ActionUnregisterEventual   Action = "process.registry.unregister.eventual"
	ActionUnregisterConsistent Action = "process.registry.unregister.consistent"
	ActionUnregisterStrong     Action = "process.registry.unregister.strong"
	// ActionRegisterForeign is checked on another process's PID: to give
	// it a name, and to release a name it holds (which, unlike a
	// registration, its host's policies must allow explicitly: see
	// Guard.AuthorizeRelease).
	ActionRegisterForeign Action = "process.registry.foreign"

	// ActionNetwork is checked when a spawner selects a network
	// (with_options{network = id}); wippyd has no network entries and
	// keeps the check so that a policy written for Wippy still refuses.
	ActionNetwork Action = "network.select"

	// The security module's own actions (Wippy's "Security Actions").
	ActionPolicyGet   Action = "security.policy.get"
	ActionGroupGet    Action = "security.policy_group.get"
	ActionScopeCreate Action = "security.scope.create"
	ActionActorCreate Action = "security.actor.create"

	// Process groups (pg): the scope's entry id for pg.open, the group
	// name for the calls on one group, the scope's id for the calls on
	// the whole scope (which_groups, which_local_groups, events).
	ActionPGOpen             Action = "pg.open"
	ActionPGJoin             Action = "pg.join"
	ActionPGLeave            Action = "pg.leave"
	ActionPGGetMembers       Action = "pg.get_members"
	ActionPGGetLocalMembers  Action = "pg.get_local_members"
	ActionPGWhichGroups      Action = "pg.which_groups"
	ActionPGWhichLocalGroups Action = "pg.which_local_groups"
	ActionPGBroadcast        Action = "pg.broadcast"
	ActionPGBroadcastLocal   Action = "pg.broadcast_local"
	ActionPGMonitor          Action = "pg.monitor"
	ActionPGEvents           Action = "pg.events"

	// The system module: system.read, system.control and system.gc on a
	// word naming what is read or changed (memory, gc_percent, cluster,
	// raft, ...), system.lock on the lock's name, system.exit on "".
	ActionSystemRead    Action = "system.read"
	ActionSystemControl Action = "system.control"
	ActionSystemGC      Action = "system.gc"
	ActionSystemLock    Action = "system.lock"
	ActionSystemExit    Action = "system.exit"

	ActionEnvGet Action = "env.get"
	ActionEnvSet Action = "env.set"
	ActionIO     Action = "io"
)

// Fixed resources of the actions that have no object of their own.
const (
	ResourceContext  = "context"  // ActionContext
	ResourceSecurity = "security" // ActionSecurity
	ResourceCustom   = "custom"   // ActionScopeCreate
)

// Resource says what an action is checked on.
type Resource uint8

// Resources of actions.
const (
	OnEntry    Resource = iota + 1 // the entry id spawned
	OnTarget                       // a process: its PID text, the name used (if any) and its host id; the target host's policies apply
	OnHost                         // the host id spawned on; that host's policies apply
	OnName                         // the name registered or released
	OnVariable                     // the environment variable's name
	OnFixed                        // a fixed word: ResourceContext, ResourceSecurity or ResourceCustom
	OnTerminal                     // the terminal host's id
	OnNetwork                      // the network entry id selected
	OnPolicy                       // a policy id
	OnGroup                        // a policy group name
	OnActor                        // the id of the actor made
)

// Resources of the process group actions.
const (
	OnPGScope = OnActor + 1 + iota // a pg.scope entry id
	OnPGGroup                      // a process group's name
	OnSystem                       // a word naming what a system call reads or changes
	OnLock                         // a distributed lock's name
)

// ActionInfo describes one action the node checks.
type ActionInfo struct {
	Action   Action
	Resource Resource
}

// actionTable is every action the node checks, in the order of
// docs/security.md. New actions (process groups, system calls, locks,
// name scopes) are added here and to the constants above.
var actionTable = [...]ActionInfo{
	{ActionSpawn, OnEntry},
	{ActionSpawnLinked, OnEntry},
	{ActionSpawnMonitored, OnEntry},
	{ActionExec, OnEntry},
	{ActionHost, OnHost},
	{ActionSend, OnTarget},
	{ActionTerminate, OnTarget},
	{ActionCancel, OnTarget},
	{ActionMonitor, OnTarget},
	{ActionUnmonitor, OnTarget},
	{ActionLink, OnTarget},
	{ActionUnlink, OnTarget},
	{ActionContext, OnFixed},
	{ActionSecurity, OnFixed},
	{ActionNetwork, OnNetwork},
	{ActionRegister, OnName},
	{ActionRegisterEventual, OnName},
	{ActionRegisterConsistent, OnName},
	{ActionRegisterStrong, OnName},
	{ActionUnregister, OnName},
	{ActionUnregisterEventual, OnName},
	{ActionUnregisterConsistent, OnName},
	{ActionUnregisterStrong, OnName},
	{ActionRegisterForeign, OnTarget},
	{ActionPGOpen, OnPGScope},
	{ActionPGJoin, OnPGGroup},
	{ActionPGLeave, OnPGGroup},
	{ActionPGGetMembers, OnPGGroup},
	{ActionPGGetLocalMembers, OnPGGroup},
	{ActionPGWhichGroups, OnPGScope},
	{ActionPGWhichLocalGroups, OnPGScope},
	{ActionPGBroadcast, OnPGGroup},
	{ActionPGBroadcastLocal, OnPGGroup},
	{ActionPGMonitor, OnPGGroup},
	{ActionPGEvents, OnPGScope},
	{ActionSystemRead, OnSystem},
	{ActionSystemControl, OnSystem},
	{ActionSystemGC, OnSystem},
	{ActionSystemLock, OnLock},
	{ActionSystemExit, OnSystem},
	{ActionEnvGet, OnVariable},
	{ActionEnvSet, OnVariable},
	{ActionIO, OnTerminal},
	{ActionPolicyGet, OnPolicy},
	{ActionGroupGet, OnGroup},
	{ActionScopeCreate, OnFixed},
	{ActionActorCreate, OnActor},
}

// Actions returns every action the node checks.
func Actions() []ActionInfo { return slices.Clone(actionTable[:]) }
