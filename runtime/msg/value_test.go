package msg

import (
	"errors"
	"math"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

func keysOf(v Value) []Value {
	var ks []Value
	for _, p := range v.Pairs() {
		ks = append(ks, p.Key)
	}
	return ks
}

func TestMapSortsAndDedups(t *testing.T) {
	m, err := Map(
		Pair{Key: String("b"), Val: Int(1)},
		Pair{Key: Int(2), Val: Int(2)},
		Pair{Key: String("a"), Val: Int(3)},
		Pair{Key: Int(-1), Val: Int(4)},
		Pair{Key: String("b"), Val: Int(5)},
		Pair{Key: Int(2), Val: Int(6)},
		Pair{Key: String(""), Val: Int(7)},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{Int(-1), Int(2), String(""), String("a"), String("b")}
	got := keysOf(m)
	if len(got) != len(want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	for i := range want {
		if !Equal(got[i], want[i]) {
			t.Fatalf("keys = %v, want %v", got, want)
		}
	}
	// The last pair given for a key wins.
	if v, ok := m.Get("b"); !ok || !Equal(v, Int(5)) {
		t.Fatalf(`Get("b") = %s, %v; want 5`, v, ok)
	}
	if !Equal(m.Pairs()[1].Val, Int(6)) {
		t.Fatalf("int key 2 = %s, want 6", m.Pairs()[1].Val)
	}
	if m.Len() != 5 {
		t.Fatalf("Len = %d, want 5", m.Len())
	}
}

func TestMapRejectsKeys(t *testing.T) {
	for _, k := range []Value{Nil, Bool(true), Float(1), Bytes([]byte("a")), List(), MustMap(),
		PIDValue(samplePID), Error(ErrorValue{})} {
		if _, err := Map(Pair{Key: String("ok"), Val: Nil}, Pair{Key: k, Val: Int(1)}); !errors.Is(err, ErrKey) {
			t.Errorf("Map with key %s: %v, want ErrKey", k, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustMap with a float key did not panic")
		}
	}()
	MustMap(Pair{Key: Float(1)})
}

func TestGet(t *testing.T) {
	m := MustMap(Pair{Key: String("a"), Val: Int(1)}, Pair{Key: Int(7), Val: Int(2)}, Pair{Key: String("c"), Val: Int(3)})
	for _, c := range []struct {
		key  string
		want Value
		ok   bool
	}{{"a", Int(1), true}, {"c", Int(3), true}, {"b", Nil, false}, {"7", Nil, false}, {"", Nil, false}} {
		if v, ok := m.Get(c.key); ok != c.ok || !Equal(v, c.want) {
			t.Errorf("Get(%q) = %s, %v; want %s, %v", c.key, v, ok, c.want, c.ok)
		}
	}
	if _, ok := List(String("a")).Get("a"); ok {
		t.Error("Get on a list found a key")
	}
}

func TestEqual(t *testing.T) {
	a := MustMap(Pair{Key: String("x"), Val: Int(1)}, Pair{Key: Int(3), Val: List(Int(1))}, Pair{Key: String("y"), Val: Nil})
	b := MustMap(Pair{Key: String("y"), Val: Nil}, Pair{Key: String("x"), Val: Int(1)}, Pair{Key: Int(3), Val: List(Int(1))})
	if !Equal(a, b) {
		t.Fatalf("maps built in different orders differ: %s vs %s", a, b)
	}
	if !Equal(StringMap(map[string]Value{"x": Int(1), "y": Int(2)}), StringMap(map[string]Value{"y": Int(2), "x": Int(1)})) {
		t.Fatal("StringMaps with the same entries differ")
	}
	p := pid.PID{Node: "n", Host: "h", Seq: 1}
	e := ErrorValue{Kind: "K", Message: "m", Retryable: True, Details: List(Int(1))}
	different := []struct {
		name string
		a, b Value
	}{
		{"int vs float", Int(1), Float(1)},
		{"nil vs false", Nil, Bool(false)},
		{"bool", Bool(true), Bool(false)},
		{"string vs bytes", String("a"), Bytes([]byte("a"))},
		{"string", String("a"), String("b")},
		{"list length", List(Int(1)), List(Int(1), Int(1))},
		{"list item", List(Int(1), Int(2)), List(Int(1), Int(3))},
		{"list vs map", List(), MustMap()},
		{"map value", MustMap(Pair{Key: String("a"), Val: Int(1)}), MustMap(Pair{Key: String("a"), Val: Int(2)})},
		{"map key", MustMap(Pair{Key: String("a"), Val: Int(1)}), MustMap(Pair{Key: String("b"), Val: Int(1)})},
		{"map int vs string key", MustMap(Pair{Key: Int(1), Val: Nil}), MustMap(Pair{Key: String("1"), Val: Nil})},
		{"map size", MustMap(Pair{Key: Int(1), Val: Nil}), MustMap()},
		{"pid", PIDValue(p), PIDValue(pid.PID{Node: "n", Host: "h", Seq: 2})},
		{"pid vs string", PIDValue(p), String(p.String())},
		{"error kind", Error(e), Error(ErrorValue{Kind: "J", Message: e.Message, Retryable: e.Retryable, Details: e.Details})},
		{"error message", Error(e), Error(ErrorValue{Kind: e.Kind, Message: "n", Retryable: e.Retryable, Details: e.Details})},
		{"error retryable", Error(e), Error(ErrorValue{Kind: e.Kind, Message: e.Message, Retryable: Unknown, Details: e.Details})},
		{"error details", Error(e), Error(ErrorValue{Kind: e.Kind, Message: e.Message, Retryable: e.Retryable, Details: List(Int(2))})},
		{"float zero sign", Float(0), Float(math.Copysign(0, -1))},
	}
	for _, c := range different {
		if Equal(c.a, c.b) || Equal(c.b, c.a) {
			t.Errorf("%s: %s and %s compare equal", c.name, c.a, c.b)
		}
	}
	same := []Value{Nil, Int(-5), Float(math.NaN()), Float(math.Inf(-1)), String("s"), Bytes([]byte{0}),
		PIDValue(p), Error(e), a, List(List(), MustMap())}
	for _, v := range same {
		if !Equal(v, v) || !Equal(v, v.Copy()) {
			t.Errorf("%s differs from itself or its copy", v)
		}
	}
}

func TestCopyIsIndependent(t *testing.T) {
	items := []Value{Int(1), List(Int(2))}
	list := List(items...)
	pairs := []Pair{{Key: String("a"), Val: Int(1)}}
	m := MustMap(pairs...)
	details := []Value{String("d")}
	e := Error(ErrorValue{Kind: "K", Details: List(details...)})

	lc, mc, ec := list.Copy(), m.Copy(), e.Copy()
	items[0] = Int(100)
	items[1].Items()[0] = Int(200) // the nested list shares items' storage too
	pairs[0].Val = Int(100)
	details[0] = String("changed")

	if !Equal(lc, List(Int(1), List(Int(2)))) {
		t.Errorf("list copy changed with the original: %s", lc)
	}
	if !Equal(list, List(Int(100), List(Int(200)))) {
		t.Errorf("List does not own its slice, got %s", list)
	}
	if !Equal(mc, MustMap(Pair{Key: String("a"), Val: Int(1)})) {
		t.Errorf("map copy changed with the original: %s", mc)
	}
	if ev, _ := ec.AsError(); !Equal(ev.Details, List(String("d"))) {
		t.Errorf("error copy changed with the original: %s", ev.Details)
	}
	if ev, _ := e.AsError(); !Equal(ev.Details, List(String("changed"))) {
		t.Errorf("Error does not own its details' slice, got %s", ev.Details)
	}
}

func TestBytesAreCopied(t *testing.T) {
	b := []byte("abc")
	v := Bytes(b)
	b[0] = 'X'
	got, ok := v.AsBytes()
	if !ok || string(got) != "abc" {
		t.Fatalf("AsBytes = %q, %v; want abc", got, ok)
	}
	got[1] = 'Y'
	if s, _ := v.BytesString(); s != "abc" {
		t.Fatalf("changing AsBytes' result changed the value: %q", s)
	}
}

func TestDepthAndCheck(t *testing.T) {
	cases := []struct {
		name string
		v    Value
		want int
	}{
		{"scalar", Int(1), 0},
		{"pid", PIDValue(samplePID), 0},
		{"empty list", List(), 1},
		{"empty map", MustMap(), 1},
		{"flat list", List(Int(1), String("a")), 1},
		{"list of list", List(Int(1), List()), 2},
		{"map of list", MustMap(Pair{Key: Int(1), Val: List(List())}), 3},
		{"error", Error(ErrorValue{Kind: "K"}), 1},
		{"error with list", Error(ErrorValue{Details: List(Int(1))}), 2},
		{"list of error of error", List(Error(ErrorValue{Details: Error(ErrorValue{})})), 3},
		{"64 lists", nest(Nil, MaxDepth), MaxDepth},
		{"65 lists", nest(Nil, MaxDepth+1), MaxDepth + 1},
	}
	for _, c := range cases {
		if got := c.v.Depth(); got != c.want {
			t.Errorf("%s: Depth = %d, want %d", c.name, got, c.want)
		}
		err := c.v.Check()
		if c.want > MaxDepth && !errors.Is(err, ErrTooDeep) || c.want <= MaxDepth && err != nil {
			t.Errorf("%s: Check = %v", c.name, err)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{Nil, "nil"},
		{Bool(true), "true"},
		{Int(-42), "-42"},
		{Float(1.5), "1.5"},
		{Float(1e21), "1e+21"},
		{Float(math.NaN()), "NaN"},
		{Float(math.Inf(-1)), "-Inf"},
		{String("a\"b\n"), `"a\"b\n"`},
		{Bytes([]byte{0xde, 0xad}), "bytes(dead)"},
		{PIDValue(samplePID), "{n1@app:processes|0x0004a}"},
		{List(), "[]"},
		{List(Int(1), List(String("x"))), `[1, ["x"]]`},
		{MustMap(), "{}"},
		{MustMap(Pair{Key: String("b"), Val: Nil}, Pair{Key: Int(1), Val: Bool(false)}), `{1: false, "b": nil}`},
		{Error(ErrorValue{Kind: "NOT_FOUND", Message: "gone", Details: Int(1)}), "error(NOT_FOUND: gone)"},
	}
	for _, c := range cases {
		if got := c.v.String(); got != c.want {
			t.Errorf("String() = %s, want %s", got, c.want)
		}
	}
}

func TestKindAndAccessors(t *testing.T) {
	if KindError.String() != "error" || Kind(42).String() != "kind(42)" {
		t.Fatalf("Kind.String: %s, %s", KindError, Kind(42))
	}
	if b, ok := Bool(true).AsBool(); !b || !ok {
		t.Error("AsBool on true")
	}
	if i, ok := Int(-7).AsInt(); i != -7 || !ok {
		t.Error("AsInt on -7")
	}
	if _, ok := Float(1).AsInt(); ok {
		t.Error("AsInt accepted a float")
	}
	if f, ok := Float(2.5).AsFloat(); f != 2.5 || !ok {
		t.Error("AsFloat on 2.5")
	}
	if s, ok := String("s").AsString(); s != "s" || !ok {
		t.Error("AsString")
	}
	if _, ok := Bytes(nil).AsString(); ok {
		t.Error("AsString accepted bytes")
	}
	if p, ok := PIDValue(samplePID).AsPID(); p != samplePID || !ok {
		t.Error("AsPID")
	}
	if _, ok := String(samplePID.String()).AsPID(); ok {
		t.Error("AsPID accepted a string")
	}
	if _, ok := Int(1).AsError(); ok {
		t.Error("AsError accepted an int")
	}
	if !Nil.IsNil() || Int(0).IsNil() {
		t.Error("IsNil")
	}
	if len(Int(1).Items()) != 0 || len(List().Pairs()) != 0 {
		t.Error("Items/Pairs of the wrong kind")
	}
	if String("abc").Len() != 3 || List(Nil, Nil).Len() != 2 || Int(5).Len() != 0 {
		t.Error("Len")
	}
	if TriOf(true) != True || TriOf(false) != False {
		t.Error("TriOf")
	}
}
