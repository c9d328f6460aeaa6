package lua

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// The `io` module: the node's terminal, for processes on a terminal host.
// Reads block the worker goroutine inside Env.Blocking (a terminal host
// runs one process at a time, and a terminal read cannot be a timer or a
// message).

// terminal is the engine's buffered view of Config.Terminal.
type terminal struct {
	mu   sync.Mutex
	in   *bufio.Reader
	out  *bufio.Writer
	errw io.Writer
	args []string
}

func newTerminal(t *Terminal) *terminal {
	if t == nil {
		return nil
	}
	term := &terminal{errw: t.Stderr, args: t.Args}
	if t.Stdin != nil {
		term.in = bufio.NewReader(t.Stdin)
	}
	if t.Stdout != nil {
		term.out = bufio.NewWriter(t.Stdout)
	}
	if term.errw == nil {
		term.errw = io.Discard
	}
	return term
}

// Flush writes what the terminal's stdout buffer holds. The node calls it
// before it exits.
func (e *Engine) Flush() error {
	if e.term == nil || e.term.out == nil {
		return nil
	}
	e.term.mu.Lock()
	defer e.term.mu.Unlock()
	return e.term.out.Flush()
}

// termOf returns the terminal when the calling process may use it: it
// runs on a terminal host (else UNAVAILABLE) and its policies allow the
// io action on that host's id (else PERMISSION_DENIED). With a nil
// terminal, the error to return.
func termOf(L *glua.LState) (*process, *terminal, error) {
	p := procOf(L)
	if p.eng.term == nil || !p.eng.terminal[p.self.Host] {
		return p, nil, proc.NewError(proc.KindUnavailable, "io: not a terminal host", msg.False)
	}
	if err := p.env.Authorize(security.ActionIO, p.self.Host); err != nil {
		return p, nil, err
	}
	return p, p.eng.term, nil
}

func ioFailed(L *glua.LState, err error) int {
	return fail(L, glua.LNil, proc.Errorf(proc.KindInternal, msg.Unknown, "io: %v", err))
}

func joinArgs(L *glua.LState, sep string) string {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteString(sep)
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	return b.String()
}

func (t *terminal) write(w io.Writer, s string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w == nil {
		return errors.New("no output")
	}
	_, err := io.WriteString(w, s)
	return err
}

func ioWriteTo(stderr bool, sep, end string) glua.LGFunction {
	return func(L *glua.LState) int {
		p, t, err := termOf(L)
		if t == nil {
			return fail(L, glua.LNil, err)
		}
		var w io.Writer = t.errw
		if !stderr {
			if t.out == nil {
				return ioFailed(L, errors.New("no stdout"))
			}
			w = t.out
			p.termDirty = true // flushed when the process's turn ends
		}
		if err := t.write(w, joinArgs(L, sep)+end); err != nil {
			return ioFailed(L, err)
		}
		L.Push(glua.LTrue)
		return 1
	}
}

func ioFlush(L *glua.LState) int {
	p, t, terr := termOf(L)
	if t == nil {
		return fail(L, glua.LNil, terr)
	}
	if err := p.eng.Flush(); err != nil {
		return ioFailed(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

// read runs a terminal read on the worker goroutine, flushing stdout first
// so a prompt shows.
func (p *process) read(t *terminal, f func(r *bufio.Reader) (string, error)) (string, error) {
	if t.in == nil {
		return "", io.EOF
	}
	_ = p.eng.Flush()
	var s string
	var err error
	p.blocking(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		s, err = f(t.in)
	})
	return s, err
}

func ioReadline(L *glua.LState) int {
	p, t, terr := termOf(L)
	if t == nil {
		return fail(L, glua.LNil, terr)
	}
	line, err := p.read(t, func(r *bufio.Reader) (string, error) { return r.ReadString('\n') })
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		if errors.Is(err, io.EOF) {
			L.Push(glua.LNil)
			return 1
		}
		return ioFailed(L, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	L.Push(glua.LString(line))
	return 1
}

func ioRead(L *glua.LState) int {
	p, t, terr := termOf(L)
	if t == nil {
		return fail(L, glua.LNil, terr)
	}
	n := L.OptInt(1, 1024)
	if n <= 0 {
		n = 1024
	}
	s, err := p.read(t, func(r *bufio.Reader) (string, error) {
		buf := make([]byte, n)
		k, err := r.Read(buf)
		return string(buf[:k]), err
	})
	if s == "" && err != nil {
		if errors.Is(err, io.EOF) {
			L.Push(glua.LNil)
			return 1
		}
		return ioFailed(L, err)
	}
	L.Push(glua.LString(s))
	return 1
}

// ioArgs returns the run's arguments; a process denied io gets an empty
// table and the error.
func ioArgs(L *glua.LState) int {
	p := procOf(L)
	t := L.CreateTable(0, 0)
	if err := p.env.Authorize(security.ActionIO, p.self.Host); err != nil {
		L.Push(t)
		L.Push(lualib.NewError(L, proc.AsError(err)))
		return 2
	}
	if p.eng.term != nil {
		for _, a := range p.eng.term.args {
			t.Append(glua.LString(a))
		}
	}
	L.Push(t)
	return 1
}

func (l *libs) buildIO(B *glua.LState) {
	t := B.CreateTable(0, 8)
	for name, fn := range map[string]glua.LGFunction{
		"write": ioWriteTo(false, "", ""), "print": ioWriteTo(false, "\t", "\n"), "eprint": ioWriteTo(true, "\t", "\n"),
		"readline": ioReadline, "read": ioRead, "flush": ioFlush, "args": ioArgs,
	} {
		t.RawSetString(name, B.NewFunction(fn))
	}
	l.addRequired(B, "io", t)
}
