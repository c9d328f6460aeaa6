package lua

import (
	"bytes"
	"fmt"

	"github.com/yuin/gopher-lua/parse"
)

// Bounds of a source's shape, checked before it is parsed. gopher-lua's
// parser and compiler recurse once per level and take time that grows
// with the square of the depth: 200,000 nested `do` blocks took minutes,
// as many nested functions 6.5 GB, a chain of a million `+` more than ten
// minutes. Lua 5.1's own parser stops at 200 levels ("chunk has too many
// syntax levels"), so code that runs in Lua runs here.
const (
	// MaxSyntaxLevels bounds nesting: blocks (do, if, function, repeat),
	// brackets, and runs of unary operators.
	MaxSyntaxLevels = 200
	// MaxExprOperators bounds the binary operators of one expression
	// (outside brackets, which start an expression of their own).
	MaxExprOperators = 1000
	// MaxConstantWork bounds the compiler's constant lookups: each use of
	// a string, number or name scans the list of its function's distinct
	// constants so far, so a function of n distinct constants compiles in
	// time n² (100,000 distinct strings took 46 s). The work is estimated
	// as uses × distinct constants, summed over the source's functions;
	// 5×10⁸ is about 4 s of compiling on one core, or 22,000 distinct
	// constants in one function.
	MaxConstantWork = 500_000_000
)

// checkShape scans code's tokens and returns a *SyntaxError at the line
// where it nests deeper than MaxSyntaxLevels or an expression takes more
// than MaxExprOperators operators. A token the scanner rejects ends the
// scan: the parser reports it.
func checkShape(code []byte, name string) error {
	sc := parse.NewScanner(bytes.NewReader(code), name)
	lx := &parse.Lexer{}
	ops := []int{0} // binary operators so far in the expression, by level
	unary, prev := 0, 0
	k := constants{fns: []*fnConsts{newFnConsts(0)}}
	for {
		tok, err := sc.Scan(lx)
		if err != nil || tok.Type < 0 {
			return nil
		}
		lx.PrevTokenType = tok.Type
		line, t := tok.Pos.Line, tok.Type
		if err := k.use(t, tok.Str, line); err != nil {
			return err
		}
		switch {
		case opens(t):
			if ops = append(ops, 0); len(ops) > MaxSyntaxLevels {
				return &SyntaxError{Line: line, Message: fmt.Sprintf("lua syntax error: nested more than %d levels deep", MaxSyntaxLevels)}
			}
			if t == parse.TFunction {
				k.fns = append(k.fns, newFnConsts(len(ops)))
			}
		case closes(t):
			if len(ops) == 1 {
				return nil // unbalanced: the parser says where
			}
			k.close(len(ops))
			ops = ops[:len(ops)-1]
		case unaryOp(t, prev):
			if unary++; len(ops)+unary > MaxSyntaxLevels {
				return &SyntaxError{Line: line, Message: fmt.Sprintf("lua syntax error: nested more than %d levels deep", MaxSyntaxLevels)}
			}
		case binaryOp(t):
			if ops[len(ops)-1]++; ops[len(ops)-1] > MaxExprOperators {
				return &SyntaxError{Line: line, Message: fmt.Sprintf("lua syntax error: more than %d operators in one expression", MaxExprOperators)}
			}
		case !operand(t) && t != '.' && t != ':':
			ops[len(ops)-1] = 0 // anything else ends the expression
		}
		if !unaryOp(t, prev) {
			unary = 0
		}
		prev = t
	}
}

// opens reports whether t opens a level that a later token closes.
func opens(t int) bool {
	switch t {
	case '(', '{', '[', parse.TDo, parse.TIf, parse.TFunction, parse.TRepeat:
		return true
	}
	return false
}

func closes(t int) bool {
	switch t {
	case ')', '}', ']', parse.TEnd, parse.TUntil:
		return true
	}
	return false
}

// operand reports whether t can end an operand, so that a '-' after it is
// binary.
func operand(t int) bool {
	switch t {
	case parse.TIdent, parse.TNumber, parse.TString, parse.TNil, parse.TTrue, parse.TFalse, parse.T3Comma,
		')', ']', '}', parse.TEnd:
		return true
	}
	return false
}

func unaryOp(t, prev int) bool {
	return t == parse.TNot || t == '#' || (t == '-' && !operand(prev))
}

func binaryOp(t int) bool {
	switch t {
	case '+', '-', '*', '/', '%', '^', '<', '>', parse.T2Comma, parse.TEqeq, parse.TNeq,
		parse.TLte, parse.TGte, parse.TAnd, parse.TOr:
		return true
	}
	return false
}

// constants estimates the compiler's constant lookups (MaxConstantWork)
// function by function.
type constants struct {
	fns  []*fnConsts // the functions open at this point, the chunk first
	work int64       // uses × distinct constants of the functions closed
}

// fnConsts counts the constants of one function: uses of strings, numbers
// and names (a local's name is no constant; counting it overestimates)
// and how many are distinct.
type fnConsts struct {
	level    int // nesting level of its `function`; 0 for the chunk
	uses     int64
	distinct map[string]struct{}
}

func newFnConsts(level int) *fnConsts {
	return &fnConsts{level: level, distinct: map[string]struct{}{}}
}

func (k *constants) use(t int, text string, line int) error {
	if t != parse.TString && t != parse.TNumber && t != parse.TIdent {
		return nil
	}
	f := k.fns[len(k.fns)-1]
	f.uses++
	f.distinct[string(rune(t))+text] = struct{}{}
	if k.work+f.uses*int64(len(f.distinct)) > MaxConstantWork {
		return &SyntaxError{Line: line, Message: fmt.Sprintf("lua syntax error: too many constants to compile "+
			"in reasonable time (%d distinct strings, numbers and names in this function, used %d times; "+
			"see MaxConstantWork)", len(f.distinct), f.uses)}
	}
	return nil
}

// close ends the functions opened at level or deeper (never the chunk's).
func (k *constants) close(level int) {
	for len(k.fns) > 1 && k.fns[len(k.fns)-1].level >= level {
		f := k.fns[len(k.fns)-1]
		k.fns = k.fns[:len(k.fns)-1]
		k.work += f.uses * int64(len(f.distinct))
	}
}
