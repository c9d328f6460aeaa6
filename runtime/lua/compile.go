package lua

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Chunk is a Lua source compiled by Compile, ready for any number of
// processes: it is read-only once built.
type Chunk struct {
	proto *glua.FunctionProto
}

// SyntaxError is Lua code that does not compile: the line of the source it
// was found at (1-based) and what is wrong, e.g. "lua syntax error:
// unexpected symbol near 'x'".
type SyntaxError struct {
	Line    int
	Message string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Compile parses and compiles code; name is the chunk name that tracebacks
// and error messages show (the file path). Bad code is a *SyntaxError, and
// so is code nested deeper than MaxSyntaxLevels or with an expression of
// more than MaxExprOperators operators (see checkShape). A
// loader compiles every source once with it, so a syntax error is found at
// load; the Engine runs the Chunk given in Source.Chunk without compiling
// again.
func Compile(code []byte, name string) (ch *Chunk, err error) {
	defer func() {
		// gopher-lua reports errors by panicking; a panic it does not
		// recover itself must not take the caller down.
		if r := recover(); r != nil {
			ch, err = nil, &SyntaxError{Line: 1, Message: fmt.Sprintf("lua: internal compiler error: %v", r)}
		}
	}()
	if err := checkShape(code, name); err != nil {
		return nil, err
	}
	tree, err := parse.Parse(bytes.NewReader(code), name)
	if err != nil {
		return nil, parseError(code, err)
	}
	proto, err := glua.Compile(tree, name)
	if err != nil {
		var ce *glua.CompileError
		if errors.As(err, &ce) {
			// The compiler puts errors found at the end of a chunk one
			// past its last line.
			return nil, &SyntaxError{Line: min(max(ce.Line, 1), lastLine(code)), Message: "lua compile error: " + ce.Message}
		}
		return nil, &SyntaxError{Line: 1, Message: "lua compile error: " + err.Error()}
	}
	noArgTable(proto)
	return &Chunk{proto: proto}, nil
}

// parseError turns a parser error into a SyntaxError at its line.
func parseError(code []byte, err error) *SyntaxError {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return &SyntaxError{Line: 1, Message: "lua syntax error: " + strings.TrimSpace(err.Error())}
	}
	line := pe.Pos.Line
	msg := "lua syntax error: " + strings.TrimSpace(pe.Message)
	if line <= 0 {
		line = lastLine(code)
		msg += " at end of file"
	} else if pe.Token != "" {
		msg += fmt.Sprintf(" near '%s'", clip(pe.Token))
	}
	return &SyntaxError{Line: line, Message: msg}
}

// lastLine is the number of the last line of code.
func lastLine(code []byte) int {
	return bytes.Count(bytes.TrimSuffix(code, []byte("\n")), []byte("\n")) + 1
}

// clip shortens a token quoted in a message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// noArgTable clears the Lua 5.0 `arg` flag of vararg functions that do not
// use `...` (every chunk): gopher-lua would build an `arg` table at each
// call, 2 KiB a time, that Lua 5.1 code never reads.
func noArgTable(p *glua.FunctionProto) {
	p.IsVarArg &^= glua.VarArgNeedsArg
	for _, c := range p.FunctionPrototypes {
		noArgTable(c)
	}
}
