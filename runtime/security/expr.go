package security

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// An expression policy (a security.policy.expr entry) matches when its
// expression, in expr-lang's language (https://expr-lang.org), is true.
// It reads four names:
//
//	actor.id    the caller's actor id ("" when it has none)
//	actor.meta  the actor's meta map (empty when it has none)
//	action      the action asked for
//	resource    the resource matched against resources
//	meta        the request's meta: meta.host, meta.node, and what
//	            security.can passed, with their types
//
// The expression is checked and compiled once, by Compile: a syntax or
// type error, an unknown name, or a result that is not a boolean is a
// compile error (an *ExprError naming the line and column within the
// expression). now() is not available: evaluation reads no clock. A
// missing map key reads as nil. An expression that fails while it runs
// (a comparison of a number with text, say) counts against the caller: a
// deny applies, an allow does not. expr-lang bounds what one evaluation
// may allocate (its memory budget, 1e6 units), so a long list in a meta
// value cannot make an evaluation grow without end.

// exprEnv is what an expression reads.
type exprEnv struct {
	Actor    exprActor      `expr:"actor"`
	Action   string         `expr:"action"`
	Resource string         `expr:"resource"`
	Meta     map[string]any `expr:"meta"`
}

type exprActor struct {
	ID   string         `expr:"id"`
	Meta map[string]any `expr:"meta"`
}

// ExprError is a compile error of a policy expression, at a line and
// column (1-based) of the expression's text.
type ExprError struct {
	Line, Column int
	Message      string
}

func (e *ExprError) Error() string {
	return fmt.Sprintf("expression line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// exprNames turns the Go names of the environment in expr-lang's messages
// into the names an expression uses.
var exprNames = strings.NewReplacer("type security.exprActor", "actor", "type security.exprEnv", "the policy")

// program is a compiled expression and a pool of machines to run it (a
// vm.VM keeps its stacks between runs).
type program struct {
	prog *vm.Program
	vms  *sync.Pool
}

func compileExpr(src string) (*program, error) {
	prog, err := expr.Compile(src, expr.Env(exprEnv{}), expr.AsBool(), expr.DisableBuiltin("now"))
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, &ExprError{Line: fe.Line, Column: fe.Column + 1, Message: exprNames.Replace(fe.Message)}
		}
		return nil, &ExprError{Line: 1, Column: 1, Message: exprNames.Replace(err.Error())}
	}
	return &program{prog: prog, vms: &sync.Pool{New: func() any { return new(vm.VM) }}}, nil
}

// holds runs the expression for one (request, resource) pair. ok is false
// when it failed to run.
func (p *program) holds(req *Request, resource string) (result, ok bool) {
	env := exprEnv{Action: string(req.Action), Resource: resource, Meta: req.Meta}
	if req.Actor != nil {
		env.Actor = exprActor{ID: req.Actor.ID, Meta: req.Actor.Meta}
	}
	m := p.vms.Get().(*vm.VM)
	out, err := m.Run(p.prog, &env)
	p.vms.Put(m)
	if err != nil {
		return false, false
	}
	b, isBool := out.(bool)
	return b, isBool
}
