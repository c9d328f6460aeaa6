package proc

import (
	"github.com/wippyd/wippyd/runtime/msg"
)

// Actions the runtime checks (SPEC section 8), with Wippy's names. The
// resource each is checked on is given beside it; a target-directed action
// is matched against the target PID string, the name used (if any) and the
// target's host id.
const (
	ActionSpawn          = "process.spawn"           // entry id
	ActionSpawnMonitored = "process.spawn.monitored" // entry id
	ActionSpawnLinked    = "process.spawn.linked"    // entry id
	ActionExec           = "process.exec"            // entry id
	ActionHost           = "process.host"            // target host id

	ActionSend      = "process.send"      // target
	ActionTerminate = "process.terminate" // target
	ActionCancel    = "process.cancel"    // target
	ActionMonitor   = "process.monitor"   // target
	ActionUnmonitor = "process.unmonitor" // target
	ActionLink      = "process.link"      // target
	ActionUnlink    = "process.unlink"    // target

	ActionContext  = "process.context"  // "context": process.with_context
	ActionSecurity = "process.security" // "security": narrowing a child's actor or scope

	ActionRegisterLocal        = "process.registry.register.local"        // name
	ActionRegisterConsistent   = "process.registry.register.consistent"   // name
	ActionUnregisterLocal      = "process.registry.unregister.local"      // name
	ActionUnregisterConsistent = "process.registry.unregister.consistent" // name
	ActionRegisterForeign      = "process.registry.foreign"               // target: registering another PID

	ActionEnvGet = "env.get" // variable name
	ActionEnvSet = "env.set" // variable name
	ActionIO     = "io"      // the terminal host's id
)

// Resources of the spawner builder permissions.
const (
	ResourceContext  = "context"
	ResourceSecurity = "security"
)

// PermissionDenied turns a policy refusal (a *host.DeniedError, or any
// error) into a PERMISSION_DENIED error object that wraps it.
func PermissionDenied(cause error) *Error {
	return &Error{Kind: KindPermissionDenied, Message: cause.Error(), Retryable: msg.False, cause: cause}
}
