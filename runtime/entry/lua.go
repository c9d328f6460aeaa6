package entry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
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

// CompileLua compiles the code of one Lua source file at load, so bad code
// is reported with the tree's other problems; name is the chunk name (the
// file's path as problems show it). It returns the compiled form, kept in
// Source.Compiled for the engine that runs the code, or the error of bad
// code: a *CodeError puts the problem at its line of the file, any other
// error at the entry. The node passes the Lua engine's compiler; this
// package does not know the language.
type CompileLua func(code []byte, name string) (compiled any, err error)

// CodeError is Lua code that does not compile: the line of its file
// (1-based) and what is wrong.
type CodeError struct {
	Line    int
	Message string
}

func (e *CodeError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// readSource reads the Lua file at p and compiles it with compile (nil: not
// at all). The error is the compiler's for bad code, another error when the
// file cannot be read.
func readSource(fsys fs.FS, compile CompileLua, uri, p, display, abs string) (Source, error) {
	code, err := ReadFile(fsys, p, MaxLuaFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Source{}, fmt.Errorf("source file %s not found", display)
		}
		return Source{}, fmt.Errorf("source file %s: %w", display, unwrapPath(err))
	}
	sum := sha256.Sum256(code)
	src := Source{URI: uri, Path: abs, Name: display, Code: code, Hash: hex.EncodeToString(sum[:]), fsPath: p}
	if compile != nil {
		src.Compiled, err = compile(code, display)
	}
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
