package entry

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wippyd/wippyd/runtime/msg"
)

// maxNodes bounds the YAML nodes the loader visits in one file. Aliases
// and merge keys let a small file expand exponentially; past this bound it
// is an error, not a hang or an out-of-memory.
const maxNodes = 1_000_000

// maxAliasChain bounds alias-to-alias and merge-key indirection, which YAML
// lets become cyclic.
const maxAliasChain = 64

// checker collects the problems of one YAML file.
type checker struct {
	file   string // display path of the YAML file
	id     string // entry being decoded; "" at file level
	probs  *[]Problem
	budget int // YAML nodes left to visit
}

// spend charges n visited nodes to the file. Once the budget is gone it
// reports that (once) and returns false.
func (c *checker) spend(n, line int) bool {
	if c.budget < 0 {
		return false
	}
	if c.budget -= n; c.budget < 0 {
		c.errorf(line, "file expands to more than %d YAML nodes through aliases", maxNodes)
		return false
	}
	return true
}

func (c *checker) errorf(line int, format string, args ...any) {
	*c.probs = append(*c.probs, Problem{File: c.file, Line: line, EntryID: c.id, Message: fmt.Sprintf(format, args...)})
}

// deref follows aliases and document nodes to the node they stand for; nil
// for a cycle.
func deref(n *yaml.Node) *yaml.Node {
	for range maxAliasChain {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// describe names the YAML type of n for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("string %q", clip(n.Value))
		default:
			return fmt.Sprintf("%s %s", strings.TrimPrefix(n.ShortTag(), "!!"), clip(n.Value))
		}
	}
	return "nothing"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field is one key of a mapping.
type field struct {
	key  string
	line int // line of the key
	val  *yaml.Node
}

// fields reads one mapping, remembering which keys were used so that the
// rest can be reported as unknown.
type fields struct {
	c     *checker
	path  string // dotted path of the mapping, "" for an entry or a file
	line  int
	list  []field // own keys first, then keys brought in by merge keys
	index map[string]int
	used  map[string]bool // keys read
	asked map[string]bool // keys a reader looked for, present or not
}

// mapping returns the fields of n, or nil (with a problem) when n is not a
// mapping.
func (c *checker) mapping(n *yaml.Node, path string) *fields {
	d := deref(n)
	if d == nil || d.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		what := "nothing"
		if d != nil {
			what = describe(d)
		}
		if path == "" {
			c.errorf(line, "want a mapping, got %s", what)
		} else {
			c.errorf(line, "%s: want a mapping, got %s", path, what)
		}
		return nil
	}
	f := &fields{c: c, path: path, line: d.Line, index: map[string]int{}, used: map[string]bool{}, asked: map[string]bool{}}
	f.gather(d, true, 0)
	return f
}

// gather adds the pairs of m: own keys win over merged ones, and among
// merged mappings the first listed wins, as YAML's merge key says.
func (f *fields) gather(m *yaml.Node, own bool, depth int) {
	if depth > maxAliasChain {
		f.c.errorf(m.Line, "merge keys nest too deep")
		return
	}
	if !f.c.spend(len(m.Content)/2+1, m.Line) {
		return
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		kd := deref(k)
		if kd == nil || kd.Kind != yaml.ScalarNode {
			f.c.errorf(k.Line, "%s", f.at("keys must be strings"))
			continue
		}
		if _, ok := f.index[kd.Value]; ok {
			if own {
				f.c.errorf(k.Line, "%s", f.at(fmt.Sprintf("duplicate key %s", kd.Value)))
			}
			continue
		}
		f.index[kd.Value] = len(f.list)
		line := k.Line
		if !own {
			line = 0 // a merged key is reported at the mapping's line
		}
		f.list = append(f.list, field{key: kd.Value, line: line, val: v})
	}
	for _, v := range merges {
		d := deref(v)
		switch {
		case d != nil && d.Kind == yaml.MappingNode:
			f.gather(d, false, depth+1)
		case d != nil && d.Kind == yaml.SequenceNode:
			for _, item := range d.Content {
				if di := deref(item); di != nil && di.Kind == yaml.MappingNode {
					f.gather(di, false, depth+1)
				} else {
					f.c.errorf(v.Line, "%s", f.at("merge key wants mappings"))
				}
			}
		default:
			f.c.errorf(v.Line, "%s", f.at("merge key wants a mapping or a list of mappings"))
		}
	}
}

func (f *fields) at(msg string) string {
	if f.path == "" {
		return msg
	}
	return f.path + ": " + msg
}

// get marks key used and returns its field.
func (f *fields) get(key string) (field, bool) {
	f.asked[key] = true
	j, ok := f.index[key]
	if !ok {
		return field{}, false
	}
	f.used[key] = true
	fl := f.list[j]
	if fl.line == 0 {
		fl.line = f.line
	}
	return fl, true
}

func (f *fields) has(key string) bool {
	f.asked[key] = true
	_, ok := f.index[key]
	return ok
}

// node returns key's value with aliases resolved; nil when absent or null.
func (f *fields) node(key string) (*yaml.Node, int) {
	fl, ok := f.get(key)
	if !ok {
		return nil, f.line
	}
	d := deref(fl.val)
	if d == nil {
		f.c.errorf(fl.line, "%s: alias cycle", join(f.path, key))
		return nil, fl.line
	}
	if d.Kind == yaml.ScalarNode && d.ShortTag() == "!!null" {
		return nil, fl.line
	}
	return d, fl.line
}

func (f *fields) missing(key string) {
	f.c.errorf(f.line, "missing required field %s", join(f.path, key))
}

func (f *fields) wrongType(key string, line int, want string, n *yaml.Node) {
	f.c.errorf(line, "%s: want %s, got %s", join(f.path, key), want, describe(n))
}

// str reads a string; any scalar but null is taken as its text.
func (f *fields) str(key string, required bool) (string, int) {
	n, line := f.node(key)
	if n == nil {
		if required {
			f.missing(key)
		}
		return "", line
	}
	if n.Kind != yaml.ScalarNode {
		f.wrongType(key, line, "a string", n)
		return "", line
	}
	return n.Value, line
}

// boolean reads a bool (YAML true/false).
func (f *fields) boolean(key string) bool {
	n, line := f.node(key)
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		f.wrongType(key, line, "true or false", n)
		return false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		f.wrongType(key, line, "true or false", n)
	}
	return b
}

// count reads a non-negative integer that fits an int32-sized limit.
func (f *fields) count(key string) int { return f.countTo(key, math.MaxInt32) }

// countTo reads an integer in 0..limit.
func (f *fields) countTo(key string, limit int) int {
	n, line := f.node(key)
	if n == nil {
		return 0
	}
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		f.wrongType(key, line, "an integer", n)
		return 0
	}
	if i < 0 || i > int64(limit) {
		f.c.errorf(line, "%s: must be between 0 and %d, got %d", join(f.path, key), limit, i)
		return 0
	}
	return int(i)
}

// size reads a byte count: an integer, or a string with a KiB, MiB or GiB
// suffix ("64MiB").
func (f *fields) size(key string, def int64) int64 {
	n, line := f.node(key)
	if n == nil {
		return def
	}
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		f.wrongType(key, line, "a size", n)
		return def
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		f.c.errorf(line, "%s: %v", join(f.path, key), err)
		return def
	}
	return v
}

// ParseSize reads a byte count: a number of bytes, or a number with a
// KiB, MiB or GiB suffix ("16MiB"); at most 2^62.
func ParseSize(text string) (int64, error) {
	s, unit := strings.TrimSpace(text), int64(1)
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, unit = strings.TrimSpace(rest), u.size
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return 0, fmt.Errorf("bad size %q (want bytes, or a number with KiB, MiB or GiB)", text)
	}
	return n * unit, nil
}

// number reads a float (an integer is accepted).
func (f *fields) number(key string, def float64) float64 {
	n, line := f.node(key)
	if n == nil {
		return def
	}
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil ||
		math.IsNaN(v) || math.IsInf(v, 0) {
		f.wrongType(key, line, "a number", n)
		return def
	}
	return v
}

// duration reads a Go duration ("150ms", "5s"); a bare 0 is accepted.
func (f *fields) duration(key string, def time.Duration) time.Duration {
	d, _, _ := f.durationAt(key, def)
	return d
}

func (f *fields) durationAt(key string, def time.Duration) (time.Duration, int, bool) {
	n, line := f.node(key)
	if n == nil {
		return def, line, false
	}
	name := join(f.path, key)
	if n.Kind != yaml.ScalarNode {
		f.wrongType(key, line, "a duration", n)
		return def, line, false
	}
	if n.ShortTag() == "!!int" {
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil && v == 0 {
			return 0, line, true
		}
		f.c.errorf(line, "%s: duration %s needs a unit, e.g. %ss", name, n.Value, n.Value)
		return def, line, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		f.c.errorf(line, "%s: bad duration %q (want Go syntax, e.g. 150ms, 5s, 1m30s)", name, clip(n.Value))
		return def, line, false
	}
	if d < 0 {
		f.c.errorf(line, "%s: must not be negative, got %s", name, n.Value)
		return def, line, false
	}
	return d, line, true
}

// strings reads a list of non-empty strings; with one, a single string
// is accepted as a list of one.
func (f *fields) strings(key string, one bool) ([]string, int) {
	n, line := f.node(key)
	if n == nil {
		return nil, line
	}
	name := join(f.path, key)
	if n.Kind == yaml.ScalarNode && one {
		if n.Value == "" {
			f.c.errorf(line, "%s: empty string", name)
			return nil, line
		}
		return []string{n.Value}, line
	}
	if n.Kind != yaml.SequenceNode {
		want := "a list of strings"
		if one {
			want = "a string or a list of strings"
		}
		f.wrongType(key, line, want, n)
		return nil, line
	}
	if !f.c.spend(len(n.Content), line) {
		return nil, line
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		d := deref(item)
		if d == nil || d.Kind != yaml.ScalarNode || d.ShortTag() == "!!null" || d.Value == "" {
			what := "nothing"
			if d != nil {
				what = describe(d)
			}
			f.c.errorf(item.Line, "%s[%d]: want a non-empty string, got %s", name, i, what)
			continue
		}
		out = append(out, d.Value)
	}
	return out, line
}

// pairs reads a mapping of strings to strings, in key order.
func (f *fields) pairs(key string) ([]field, int) {
	n, line := f.node(key)
	if n == nil {
		return nil, line
	}
	sub := f.sub(key, n)
	if sub == nil {
		return nil, line
	}
	var out []field
	for _, fl := range sub.list {
		sub.used[fl.key] = true
		d := deref(fl.val)
		if fl.line == 0 {
			fl.line = sub.line
		}
		if d == nil || d.Kind != yaml.ScalarNode || d.ShortTag() == "!!null" || d.Value == "" {
			what := "nothing"
			if d != nil {
				what = describe(d)
			}
			f.c.errorf(fl.line, "%s.%s: want a non-empty string, got %s", join(f.path, key), fl.key, what)
			continue
		}
		fl.val = d
		out = append(out, fl)
	}
	slices.SortFunc(out, func(a, b field) int { return strings.Compare(a.key, b.key) })
	return out, line
}

// sub returns the fields of the mapping under key, nil when absent.
func (f *fields) sub(key string, n *yaml.Node) *fields {
	if n == nil {
		n, _ = f.node(key)
		if n == nil {
			return nil
		}
	}
	return f.c.mapping(n, join(f.path, key))
}

// value converts key's value to a msg.Value.
func (f *fields) value(key string) (msg.Value, int, bool) {
	fl, ok := f.get(key)
	if !ok {
		return msg.Nil, f.line, false
	}
	v, _ := f.c.value(fl.val, &valuePath{key: join(f.path, key)}, 0)
	return v, fl.line, true
}

// done reports every key that no reader asked for.
func (f *fields) done() {
	for _, fl := range f.list {
		if f.used[fl.key] {
			continue
		}
		line := fl.line
		if line == 0 {
			line = f.line
		}
		msg := "unknown field " + join(f.path, fl.key)
		if s := suggest(fl.key, f.keys()); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		f.c.errorf(line, "%s", msg)
	}
}

func (f *fields) keys() []string {
	var ks []string
	for k := range f.asked {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// valuePath is the position of a value inside a field, built into a
// string only for a message.
type valuePath struct {
	parent *valuePath
	key    string // "" for a list item
	index  int
}

func (p *valuePath) String() string {
	if p.parent == nil {
		return p.key
	}
	if p.key != "" {
		return join(p.parent.String(), p.key)
	}
	return p.parent.String() + "[" + strconv.Itoa(p.index) + "]"
}

// value converts a YAML node to a msg.Value. Timestamps stay strings;
// !!binary becomes bytes; mapping keys must be strings.
func (c *checker) value(n *yaml.Node, path *valuePath, depth int) (msg.Value, bool) {
	if depth > msg.MaxDepth {
		c.errorf(n.Line, "%s: nested deeper than %d", path, msg.MaxDepth)
		return msg.Nil, false
	}
	if !c.spend(1, n.Line) {
		return msg.Nil, false
	}
	d := deref(n)
	if d == nil {
		c.errorf(n.Line, "%s: alias cycle", path)
		return msg.Nil, false
	}
	switch d.Kind {
	case yaml.SequenceNode:
		items := make([]msg.Value, 0, len(d.Content))
		for i, item := range d.Content {
			v, ok := c.value(item, &valuePath{parent: path, index: i}, depth+1)
			if !ok {
				return msg.Nil, false
			}
			items = append(items, v)
		}
		return msg.List(items...), true
	case yaml.MappingNode:
		f := c.mapping(d, path.String())
		pairs := make([]msg.Pair, 0, len(f.list))
		for _, fl := range f.list {
			v, ok := c.value(fl.val, &valuePath{parent: path, key: fl.key}, depth+1)
			if !ok {
				return msg.Nil, false
			}
			pairs = append(pairs, msg.Pair{Key: msg.String(fl.key), Val: v})
		}
		v, err := msg.Map(pairs...)
		return v, err == nil
	case yaml.ScalarNode:
		return c.scalar(d, path)
	}
	c.errorf(n.Line, "%s: unsupported YAML node", path)
	return msg.Nil, false
}

func (c *checker) scalar(n *yaml.Node, path *valuePath) (msg.Value, bool) {
	switch n.ShortTag() {
	case "!!null":
		return msg.Nil, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return msg.Bool(b), true
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return msg.Int(i), true
		}
		c.errorf(n.Line, "%s: integer %s out of range", path, clip(n.Value))
		return msg.Nil, false
	case "!!float":
		var v float64
		if err := n.Decode(&v); err == nil {
			return msg.Float(v), true
		}
	case "!!binary":
		var b string // yaml.v3 decodes !!binary into a string
		if err := n.Decode(&b); err == nil {
			return msg.Bytes([]byte(b)), true
		}
	default: // !!str, !!timestamp, custom tags: the text as written
		return msg.String(n.Value), true
	}
	c.errorf(n.Line, "%s: bad %s %q", path, strings.TrimPrefix(n.ShortTag(), "!!"), clip(n.Value))
	return msg.Nil, false
}

// suggest returns the candidate closest to s when it is a likely typo.
func suggest(s string, candidates []string) string { return Suggest(s, candidates, 3) }

// Suggest returns the candidate closest to s when it is a likely typo: at
// an edit distance under limit, and at most one edit per limit characters
// of s. It returns "" when none is close enough. (Used for "did you mean"
// hints here and in the node's configuration errors.)
func Suggest(s string, candidates []string, limit int) string {
	best, bestD := "", limit
	for _, c := range candidates {
		if d := distance(s, c); d > 0 && d < bestD && limit*d <= len(s) {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the edit distance of a and b counting a swap of two
// neighbours as one edit (optimal string alignment): "jsno" is one edit
// from "json", the commonest typo.
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
