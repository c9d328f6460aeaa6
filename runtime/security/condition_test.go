package security

import (
	"testing"
)

func TestConditions(t *testing.T) {
	admin := &Actor{ID: "alice", Meta: map[string]any{
		"role": "admin", "level": 5, "score": 2.5, "big": uint64(1 << 63), "on": true,
		"num_text": "10", "admins": []string{"alice", "bob"}, "mixed": []any{"x", 7, nil},
		"none": nil, "same": "alice", "i8": int8(-3), "f32": float32(0.5),
	}}
	req := Request{
		Actor:     admin,
		Action:    "process.send",
		Resources: list("app:system"),
		Meta:      map[string]any{"host": "app:processes", "node": "n1", "level": "7", "empty": ""},
	}
	noActor := req
	noActor.Actor = nil
	tests := []struct {
		name string
		c    Condition
		req  Request
		want bool
	}{
		// eq / ne on text and numbers
		{"eq text", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}, req, true},
		{"eq text differs", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "user"}, req, false},
		{"ne text", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "user"}, req, true},
		{"ne text same", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"}, req, false},
		{"eq int with text number", Condition{Field: "actor.meta.level", Operator: OpEq, Value: "5"}, req, true},
		{"eq int with float", Condition{Field: "actor.meta.level", Operator: OpEq, Value: 5.0}, req, true},
		{"eq text number with int", Condition{Field: "meta.level", Operator: OpEq, Value: 7}, req, true},
		{"eq numeric text forms", Condition{Field: "meta.level", Operator: OpEq, Value: "7.0"}, req, true},
		{"eq bool", Condition{Field: "actor.meta.on", Operator: OpEq, Value: true}, req, true},
		{"eq bool as text", Condition{Field: "actor.meta.on", Operator: OpEq, Value: "true"}, req, true},
		{"eq bool false", Condition{Field: "actor.meta.on", Operator: OpEq, Value: false}, req, false},
		{"eq empty meta", Condition{Field: "meta.empty", Operator: OpEq, Value: ""}, req, true},
		{"eq small int types", Condition{Field: "actor.meta.i8", Operator: OpEq, Value: int64(-3)}, req, true},
		{"eq float32", Condition{Field: "actor.meta.f32", Operator: OpEq, Value: "0.5"}, req, true},
		{"eq actor id", Condition{Field: "actor.id", Operator: OpEq, Value: "alice"}, req, true},
		{"eq action", Condition{Field: "action", Operator: OpEq, Value: "process.send"}, req, true},
		{"eq resource", Condition{Field: "resource", Operator: OpEq, Value: "app:system"}, req, true},
		{"eq meta.host", Condition{Field: "meta.host", Operator: OpEq, Value: "app:processes"}, req, true},
		{"eq meta.node", Condition{Field: "meta.node", Operator: OpEq, Value: "n2"}, req, false},
		// ordering: numeric when both are numbers, text otherwise
		{"lt numeric", Condition{Field: "actor.meta.level", Operator: OpLt, Value: 10}, req, true},
		{"lt numeric not text", Condition{Field: "actor.meta.num_text", Operator: OpLt, Value: 9}, req, false}, // 10 < 9 false; "10" < "9" would be true
		{"lt equal", Condition{Field: "actor.meta.level", Operator: OpLt, Value: 5}, req, false},
		{"lte equal", Condition{Field: "actor.meta.level", Operator: OpLte, Value: 5}, req, true},
		{"lte above", Condition{Field: "actor.meta.level", Operator: OpLte, Value: 4}, req, false},
		{"gt float", Condition{Field: "actor.meta.score", Operator: OpGt, Value: 2}, req, true},
		{"gt equal", Condition{Field: "actor.meta.score", Operator: OpGt, Value: 2.5}, req, false},
		{"gte equal", Condition{Field: "actor.meta.score", Operator: OpGte, Value: "2.5"}, req, true},
		{"gte below", Condition{Field: "actor.meta.score", Operator: OpGte, Value: 3}, req, false},
		{"gt huge uint", Condition{Field: "actor.meta.big", Operator: OpGt, Value: int64(1 << 62)}, req, true},
		{"lt text", Condition{Field: "actor.meta.role", Operator: OpLt, Value: "b"}, req, true},
		{"gt text", Condition{Field: "actor.meta.role", Operator: OpGt, Value: "b"}, req, false},
		{"number vs word compares text", Condition{Field: "actor.meta.level", Operator: OpLt, Value: "a"}, req, true}, // "5" < "a"
		{"nan text is not a number", Condition{Field: "meta.level", Operator: OpLt, Value: "NaN"}, req, true},         // "7" < "NaN" as text
		// in
		{"in list hit", Condition{Field: "actor.meta.role", Operator: OpIn, Value: []string{"user", "admin"}}, req, true},
		{"in list miss", Condition{Field: "actor.meta.role", Operator: OpIn, Value: []any{"user", 1}}, req, false},
		{"in list numeric", Condition{Field: "actor.meta.level", Operator: OpIn, Value: []any{"3", 5.0}}, req, true},
		{"in int list", Condition{Field: "meta.level", Operator: OpIn, Value: []int{6, 7}}, req, true},
		{"in empty list", Condition{Field: "action", Operator: OpIn, Value: []string{}}, req, false},
		// matches
		{"matches", Condition{Field: "resource", Operator: OpMatches, Value: `^app:sys`}, req, true},
		{"matches unanchored", Condition{Field: "action", Operator: OpMatches, Value: `send`}, req, true},
		{"matches miss", Condition{Field: "action", Operator: OpMatches, Value: `^send`}, req, false},
		{"matches a number's text", Condition{Field: "actor.meta.level", Operator: OpMatches, Value: `^5$`}, req, true},
		{"matches a float's text", Condition{Field: "actor.meta.score", Operator: OpMatches, Value: `^2\.5$`}, req, true},
		// value_from
		{"value_from matches", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `^app:s`), true},
		{"value_from matches miss", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `^x`), false},
		{"value_from matches bad pattern", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `(`), false},
		{"value_from matches absent", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, req, false},
		{"value_from eq", Condition{Field: "actor.id", Operator: OpEq, ValueFrom: "actor.meta.same"}, req, true},
		{"value_from ne", Condition{Field: "actor.id", Operator: OpNe, ValueFrom: "actor.meta.role"}, req, true},
		{"value_from numeric", Condition{Field: "actor.meta.level", Operator: OpLt, ValueFrom: "meta.level"}, req, true},
		{"value_from in list", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "actor.meta.admins"}, req, true},
		{"value_from in any list", Condition{Field: "meta.level", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, req, true},
		{"value_from in any list miss", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, req, false},
		{"value_from in string list miss", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.admins"}, req, false},
		{"value_from in any list hit", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, Request{Actor: &Actor{Meta: map[string]any{"role": 7, "mixed": []any{"x", 7, nil}}}}, true},
		{"value_from in scalar", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "actor.meta.same"}, req, true},
		{"value_from resource", Condition{Field: "meta.host", Operator: OpNe, ValueFrom: "resource"}, req, true},
		// absent fields: everything false except ne
		{"absent eq", Condition{Field: "actor.meta.missing", Operator: OpEq, Value: "x"}, req, false},
		{"absent ne", Condition{Field: "actor.meta.missing", Operator: OpNe, Value: "x"}, req, true},
		{"absent lt", Condition{Field: "actor.meta.missing", Operator: OpLt, Value: 1}, req, false},
		{"absent lte", Condition{Field: "actor.meta.missing", Operator: OpLte, Value: 1}, req, false},
		{"absent gt", Condition{Field: "actor.meta.missing", Operator: OpGt, Value: 1}, req, false},
		{"absent gte", Condition{Field: "actor.meta.missing", Operator: OpGte, Value: 1}, req, false},
		{"absent in", Condition{Field: "actor.meta.missing", Operator: OpIn, Value: []string{""}}, req, false},
		{"absent matches", Condition{Field: "actor.meta.missing", Operator: OpMatches, Value: ".*"}, req, false},
		{"absent eq empty text", Condition{Field: "meta.missing", Operator: OpEq, Value: ""}, req, false},
		{"nil meta value is absent", Condition{Field: "actor.meta.none", Operator: OpEq, Value: ""}, req, false},
		{"nil meta value ne", Condition{Field: "actor.meta.none", Operator: OpNe, Value: ""}, req, true},
		{"absent value_from eq", Condition{Field: "actor.id", Operator: OpEq, ValueFrom: "meta.missing"}, req, false},
		{"absent value_from ne", Condition{Field: "actor.id", Operator: OpNe, ValueFrom: "meta.missing"}, req, true},
		{"absent value_from in", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "meta.missing"}, req, false},
		{"nil request meta", Condition{Field: "meta.host", Operator: OpEq, Value: "x"}, Request{Action: "a"}, false},
		// nil actor: actor fields are absent, the rest still works
		{"nil actor id eq", Condition{Field: "actor.id", Operator: OpEq, Value: ""}, noActor, false},
		{"nil actor id ne", Condition{Field: "actor.id", Operator: OpNe, Value: "alice"}, noActor, true},
		{"nil actor meta ne", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"}, noActor, true},
		{"nil actor meta gte", Condition{Field: "actor.meta.level", Operator: OpGte, Value: 0}, noActor, false},
		{"nil actor value_from", Condition{Field: "meta.node", Operator: OpEq, ValueFrom: "actor.id"}, noActor, false},
		{"nil actor action", Condition{Field: "action", Operator: OpEq, Value: "process.send"}, noActor, true},
		{"actor without meta", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}, Request{Actor: &Actor{ID: "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := allow(t, "p", list("*"), list("*"), tt.c)
			d := Evaluate([]*Policy{p}, tt.req, true)
			if got := d.Outcome == Allowed; got != tt.want {
				t.Fatalf("condition %+v = %v, want %v", tt.c, got, tt.want)
			}
		})
	}
}

func withMeta(req Request, k, v string) Request {
	m := map[string]any{k: v}
	for mk, mv := range req.Meta {
		if mk != k {
			m[mk] = mv
		}
	}
	req.Meta = m
	return req
}

func TestConditionsAllMustHold(t *testing.T) {
	role := Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}
	node := Condition{Field: "meta.node", Operator: OpEq, Value: "n1"}
	p := allow(t, "p", list("*"), list("*"), role, node)
	a := &Actor{ID: "a", Meta: map[string]any{"role": "admin"}}
	if !Evaluate([]*Policy{p}, Request{Actor: a, Meta: map[string]any{"node": "n1"}}, true).Permitted {
		t.Fatal("both conditions hold, want allowed")
	}
	if Evaluate([]*Policy{p}, Request{Actor: a, Meta: map[string]any{"node": "n2"}}, true).Permitted {
		t.Fatal("one condition fails, want not allowed")
	}
}
