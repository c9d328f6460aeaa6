package entry

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/runtime/lua"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// compileLua is the Lua engine's compiler with its syntax errors as
// CodeErrors, what a node gives Load: the tests see the messages users do.
func compileLua(code []byte, name string) (any, error) {
	ch, err := lua.Compile(code, name)
	if se, ok := errors.AsType[*lua.SyntaxError](err); ok {
		return nil, &CodeError{Line: se.Line, Message: se.Message}
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}
