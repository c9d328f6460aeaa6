package entry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

const sourceScheme = "file://"

// sourcePath resolves a source URI written in the YAML file at yamlPath to
// a path inside the file system.
func sourcePath(uri, yamlPath string) (string, error) {
	rel, ok := strings.CutPrefix(uri, sourceScheme)
	switch {
	case !ok:
		return "", fmt.Errorf("source %q: want file://relative/path.lua", clip(uri))
	case rel == "" || path.IsAbs(rel) || strings.Contains(rel, `\`):
		return "", fmt.Errorf("source %q: want a relative path with forward slashes after file://", clip(uri))
	}
	p := path.Join(path.Dir(yamlPath), rel)
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("source %q: path leaves the source directory", clip(uri))
	}
	return p, nil
}

// luaError is a Lua syntax or compile error at a line of a source file.
type luaError struct {
	Line    int
	Message string
}

func (e *luaError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// compile parses and compiles code with gopher-lua; name is the chunk name.
func compile(code []byte, name string) (proto *lua.FunctionProto, err error) {
	defer func() {
		// gopher-lua reports errors by panicking; a panic it does not
		// recover itself must not take the loader down.
		if r := recover(); r != nil {
			proto, err = nil, &luaError{Line: 1, Message: fmt.Sprintf("lua: internal compiler error: %v", r)}
		}
	}()
	chunk, err := parse.Parse(bytes.NewReader(code), name)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			line := pe.Pos.Line
			msg := "lua syntax error: " + strings.TrimSpace(pe.Message)
			if line <= 0 {
				line = lastLine(code)
				msg += " at end of file"
			} else if pe.Token != "" {
				msg += fmt.Sprintf(" near '%s'", clip(pe.Token))
			}
			return nil, &luaError{Line: line, Message: msg}
		}
		return nil, &luaError{Line: 1, Message: "lua syntax error: " + strings.TrimSpace(err.Error())}
	}
	proto, err = lua.Compile(chunk, name)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			// The compiler puts errors found at the end of a chunk one
			// past its last line.
			return nil, &luaError{Line: min(max(ce.Line, 1), lastLine(code)), Message: "lua compile error: " + ce.Message}
		}
		return nil, &luaError{Line: 1, Message: "lua compile error: " + err.Error()}
	}
	return proto, nil
}

// lastLine is the number of the last line of code.
func lastLine(code []byte) int {
	return bytes.Count(bytes.TrimSuffix(code, []byte("\n")), []byte("\n")) + 1
}

// readSource reads and compiles the Lua file at p. The error is a
// *luaError for bad code, another error when the file cannot be read.
func readSource(fsys fs.FS, uri, p, display, abs string) (Source, error) {
	code, err := fs.ReadFile(fsys, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Source{}, fmt.Errorf("source file %s not found", display)
		}
		return Source{}, fmt.Errorf("source file %s: %w", display, unwrapPath(err))
	}
	sum := sha256.Sum256(code)
	src := Source{URI: uri, Path: abs, Name: display, Code: code, Hash: hex.EncodeToString(sum[:]), fsPath: p}
	src.Proto, err = compile(code, display)
	return src, err
}

// unwrapPath drops the path an fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
