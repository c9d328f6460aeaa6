package lua

import (
	"fmt"
	"runtime/metrics"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The memory account of a process (its host's max_memory).
//
// gopher-lua allocates through Go's allocator with no hook, so what a
// process holds cannot be counted as it allocates. The account keeps two
// figures instead: live, what the process held when it was last measured
// (a walk of everything its state reaches, see walk.go), and debt, an
// upper estimate of what it may have allocated since. Debt grows by
//
//   - the size of every large string a builtin is about to make
//     (string.rep, string.format, string.gsub, table.concat, `..`),
//     asked for before it is allocated (need);
//   - every tickEvery instructions, what Go's heap allocated in that time
//     (a figure for the whole node, so an upper bound), capped at
//     perInstruction bytes per instruction run;
//   - the payload of every message routed to the process, and each new
//     coroutine thread.
//
// When debt passes the headroom (the limit minus live, at least an eighth
// of the limit) the process is measured again. A process found holding
// more than its limit fails at once (the error is not catchable: its
// memory is already taken); a builtin asked for more than the headroom
// raises a catchable error instead, and allocates nothing.
//
// The cost: one counter decrement per instruction, a read of Go's
// allocation counter per tickEvery instructions, and a walk per headroom
// allocated, which is what a process close to its limit pays for.

// perInstruction caps the bytes charged per instruction run: more than
// any instruction allocates on average (a table slot, a closure), so the
// cap only matters when other processes allocate at the same time.
const perInstruction = 64

// threadBytes is charged for each coroutine thread taken.
const threadBytes = 4 << 10

// account is a process's memory account; the zero value has no limit.
type account struct {
	limit int64  // bytes; 0 = no bound
	live  int64  // bytes held at the last measure
	debt  int64  // bytes possibly allocated since
	mark  uint64 // Go's cumulative heap allocation at the last tock; 0 before the first
}

// start sets the account's limit. Go's allocation counter is first read
// at the first tock (most processes never run that many instructions).
func (a *account) start(limit int64) { a.limit = limit }

// headroom is how much debt may grow before the process is measured.
func (a *account) headroom() int64 { return max(a.limit-a.live, a.limit/8) }

// charge adds n bytes of possible allocation.
func (p *process) charge(n int64) {
	if p.mem.limit == 0 {
		return
	}
	p.mem.debt += n
}

// tock charges what Go allocated since the last tock, at most
// perInstruction per instruction run, and measures the process when its
// debt has passed the headroom.
func (a *account) tock(p *process) {
	if a.limit == 0 {
		return
	}
	now := p.eng.allocated()
	if a.mark != 0 {
		a.debt += min(int64(now-a.mark), tickEvery*perInstruction)
	} else {
		a.debt += tickEvery * perInstruction // no mark yet: the most it may be
	}
	a.mark = now
	if a.debt > a.headroom() {
		p.measure()
	}
}

// measure walks the process's state: live becomes what it holds, debt
// zero. Past the limit the process fails.
func (p *process) measure() {
	a := &p.mem
	a.live, a.debt = p.eng.walk(p, a.limit+1), 0
	if a.live > a.limit {
		p.fail(p.overLimit())
	}
}

// need approves the allocation of n bytes by what (a builtin) or raises a
// catchable MEMORY error object; a process found over its limit fails.
func (p *process) need(L *glua.LState, n int, what string) {
	a := &p.mem
	if a.limit == 0 {
		return
	}
	if size := int64(n); a.live+a.debt+size <= a.limit {
		a.debt += size
		return
	}
	if a.debt > 0 || a.live == 0 {
		p.measure()
		if p.fault != nil {
			L.RaiseError("%s", p.fault.Message)
		}
	}
	if int64(n) > a.limit-a.live {
		L.Error(lualib.NewError(L, proc.Errorf(proc.KindInternal, msg.False,
			"lua: memory limit: %s needs %s; the process holds %s of its host's max_memory %s",
			what, sizeText(int64(n)), sizeText(a.live), sizeText(a.limit))), 1)
	}
	a.debt += int64(n)
}

// Need implements lualib.Budget.
func (p *process) Need(L *glua.LState, n int, what string) { p.need(L, n, what) }

// overLimit is the exit reason of a process found over its limit.
func (p *process) overLimit() *proc.Error {
	return proc.Errorf(proc.KindInternal, msg.False,
		"lua: memory limit: the process holds %s, over its host's max_memory %s", sizeText(p.mem.live), sizeText(p.mem.limit))
}

// allocated returns Go's cumulative heap allocation in bytes.
func (e *Engine) allocated() uint64 {
	s := e.samples.Get().(*[1]metrics.Sample)
	metrics.Read(s[:])
	n := s[0].Value.Uint64()
	e.samples.Put(s)
	return n
}

func newSample() any {
	return &[1]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
}

// sizeText formats a byte count for an error message.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// bigPiece is the size past which a builtin asks the account before it
// allocates; smaller allocations are charged by tock.
const bigPiece = 1 << 16
