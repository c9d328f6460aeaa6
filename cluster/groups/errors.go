package groups

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// MaxName is the longest group name, in bytes.
const MaxName = 1024

// ErrConfig wraps every Config.Validate failure.
var ErrConfig = errors.New("groups: invalid config")

// Errors returned to processes (proc.Error kinds, as the pg page gives
// them).
var (
	// ErrNoScope: no pg.scope entry of that id on this node.
	ErrNoScope = proc.NewError(proc.KindInternal, "pg scope not found", msg.False)
	// ErrBadGroup: an empty group name, one over MaxName bytes, or an
	// empty list of groups.
	ErrBadGroup = proc.NewError(proc.KindInvalid, "group name must be 1 to 1024 bytes", msg.False)
	// ErrNotMember: a leave of groups the process is a member of none of.
	ErrNotMember = proc.NewError(proc.KindInvalid, "not a member of the group", msg.False)
	// ErrTooManyGroups: a join would make more groups than the scope's
	// max_groups.
	ErrTooManyGroups = proc.NewError(proc.KindUnavailable, "pg scope has max_groups groups", msg.True)
	// ErrGroupFull: a join would make the group larger than the scope's
	// max_members_per_group.
	ErrGroupFull = proc.NewError(proc.KindUnavailable, "group has max_members_per_group members", msg.True)
	// ErrNodeFull: this node's processes hold Config.MaxMembersPerNode
	// memberships already.
	ErrNodeFull = proc.NewError(proc.KindUnavailable, "node holds its maximum of group memberships", msg.True)
	// ErrTooManySubscriptions: the scope has Config.MaxSubscriptions
	// monitors and event subscriptions already.
	ErrTooManySubscriptions = proc.NewError(proc.KindUnavailable, "pg scope holds its maximum of subscriptions", msg.True)
)
