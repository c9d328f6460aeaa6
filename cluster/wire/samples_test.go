package wire_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// nodes are the ends every test frame travels between.
var nodes = wire.Nodes{Sender: "n1", Receiver: "n2"}

var (
	fromPID  = pid.PID{Node: "n1", Host: "app:processes", Seq: 0x4a}
	toPID    = pid.PID{Node: "n2", Host: "app:processes", Seq: 0x100000}
	thirdPID = pid.PID{Node: "n3", Host: "app:system", Seq: 7}
)

// sample is one message of each shape the tests, the golden file and the
// fuzz seeds share.
type sample struct {
	name string
	msg  any // *wire.Envelope, *wire.SpawnRequest, *wire.SpawnReply or *wire.Groupcast
}

func samples() []sample {
	payload := msg.MustMap(
		msg.Pair{Key: msg.String("seq"), Val: msg.Int(12345)},
		msg.Pair{Key: msg.String("text"), Val: msg.String("hello")},
		msg.Pair{Key: msg.String("who"), Val: msg.PIDValue(thirdPID)},
	)
	actor := &security.Actor{ID: "user:42", Meta: map[string]any{"role": "admin", "level": int64(3), "ratio": 0.5, "on": true, "none": nil}}
	// A context narrowed twice below a spawner with no identity.
	chain := security.RemoteChain{
		{},
		{Actor: &security.Actor{ID: "guest", Meta: map[string]any{"role": "guest"}}, ScopeIDs: []string{"app:guests"}},
		{Actor: &security.Actor{ID: "root", Meta: map[string]any{"roles": []any{"admin", int64(1)}, "org": map[string]any{"team": "ops"}}},
			ScopeIDs: []string{"app:x"}},
	}
	return []sample{
		{"envelope_message", &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "greet", Payload: payload}},
		{"envelope_message_no_sender", &wire.Envelope{Kind: 1, To: toPID, Topic: "t", Payload: msg.Bytes(make([]byte, 64))}},
		{"envelope_exit", &wire.Envelope{Kind: 2, From: fromPID, To: toPID, Payload: msg.Nil, Err: proc.ErrNoConnection}},
		{"envelope_exit_value", &wire.Envelope{Kind: 2, From: fromPID, To: toPID, Payload: msg.List(msg.Int(1), msg.Float(2.5))}},
		{"envelope_link_exit", &wire.Envelope{Kind: 3, From: fromPID, To: toPID, Err: proc.LinkDown(thirdPID)}},
		{"envelope_cancel_third_node", &wire.Envelope{Kind: 8, From: thirdPID, To: toPID, Payload: msg.String("shutdown")}},
		{"envelope_actor_scope", &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "x",
			Chain: security.RemoteChain{{Actor: actor, ScopeIDs: []string{"app:no-system", "app:sandbox"}}}}},
		{"envelope_actor_no_meta", &wire.Envelope{Kind: 4, From: fromPID, To: toPID, Chain: security.RemoteChain{{Actor: &security.Actor{ID: "svc"}, ScopeIDs: []string{}}}}},
		{"envelope_chain", &wire.Envelope{Kind: 9, From: fromPID, To: toPID, Chain: chain}},
		{"envelope_from_host", &wire.Envelope{Kind: 1, To: toPID, Topic: "t", FromHost: "app:terminal"}},
		{"spawn_request", &wire.SpawnRequest{
			ID: 9, From: fromPID, Entry: "app.workers:handler", Host: "app:processes",
			Args: []msg.Value{msg.Int(1), msg.String("two")}, Link: true, Name: "worker",
			Message: &wire.Message{Topic: "init", Payload: msg.Bool(true)},
			Actor:   actor, ScopeIDs: []string{"app:sandbox"},
			HasParent: true, Parent: chain,
			Context: msg.MustMap(msg.Pair{Key: msg.String("request_id"), Val: msg.String("r-1")}),
		}},
		{"spawn_request_parent_without_identity", &wire.SpawnRequest{ID: 3, From: fromPID, Entry: "app:w", HasParent: true, Parent: security.RemoteChain{},
			Actor: &security.Actor{ID: "root"}}},
		{"spawn_request_bare", &wire.SpawnRequest{ID: 1 << 40, Entry: "app:main", Monitor: true}},
		{"spawn_request_exec", &wire.SpawnRequest{ID: 2, Entry: "app:tool", Host: "app:terminal", Exec: true, Args: []msg.Value{msg.String("-v")}}},
		{"spawn_reply_pid", &wire.SpawnReply{ID: 9, PID: pid.PID{Node: "n1", Host: "app:processes", Seq: 0x55}}},
		{"groupcast", &wire.Groupcast{Scope: "app:pg", Group: "workers", Envelope: wire.Envelope{Kind: 1, From: fromPID, Topic: "task", Payload: payload}}},
		{"groupcast_actor", &wire.Groupcast{Scope: "app:pg", Group: "chat.room", Envelope: wire.Envelope{Kind: 1, From: fromPID, Topic: "say", Chain: chain, FromHost: "app:terminal"}}},
		{"spawn_reply_error", &wire.SpawnReply{ID: 10, Err: &proc.Error{Kind: proc.KindNotFound, Message: "unknown host: x", Retryable: msg.False, Details: msg.String("d")}}},
	}
}

func encode(e *wire.Encoder, m any) ([]byte, error) {
	switch m := m.(type) {
	case *wire.Envelope:
		return e.AppendEnvelope(nil, nodes, m)
	case *wire.SpawnRequest:
		return e.AppendSpawnRequest(nil, nodes, m)
	case *wire.SpawnReply:
		return e.AppendSpawnReply(nil, nodes, m)
	case *wire.Groupcast:
		return e.AppendGroupcast(nil, nodes, m)
	}
	panic("unknown message")
}

// decode decodes body as a message of the same type as like.
func decode(d *wire.Decoder, body []byte, like any) (any, error) {
	switch like.(type) {
	case *wire.Envelope:
		var m wire.Envelope
		return &m, d.DecodeEnvelope(body, nodes, &m)
	case *wire.SpawnRequest:
		var m wire.SpawnRequest
		return &m, d.DecodeSpawnRequest(body, nodes, &m)
	case *wire.SpawnReply:
		var m wire.SpawnReply
		return &m, d.DecodeSpawnReply(body, nodes, &m)
	case *wire.Groupcast:
		var m wire.Groupcast
		return &m, d.DecodeGroupcast(body, nodes, &m)
	}
	panic("unknown message")
}

// A decoded message shares no memory with the body: the transport reads
// the next frames into the same buffer once the cluster's handler has
// returned. Every sample is decoded (twice: the second time from the
// decoder's caches), the body overwritten, and the messages compared with
// ones decoded from an untouched copy.
func TestDecodedOwnsItsMemory(t *testing.T) {
	e := wire.NewEncoder()
	for _, s := range samples() {
		body, err := encode(e, s.msg)
		if err != nil {
			t.Fatal(err)
		}
		d := wire.NewDecoder()
		var got []any
		for range 2 {
			buf := bytes.Clone(body)
			m, err := decode(d, buf, s.msg)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			for i := range buf {
				buf[i] = 0xa5
			}
			got = append(got, m)
		}
		want, err := decode(wire.NewDecoder(), body, s.msg)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if !reflect.DeepEqual(m, want) {
				t.Errorf("%s: changed with its body:\n%#v\nwant %#v", s.name, m, want)
			}
		}
	}
}

// A long-lived decoder reads a stream of envelopes whose fields repeat
// the last one's, or change one at a time, as a fresh decoder does.
func TestRepeatedEnvelopes(t *testing.T) {
	actor := &security.Actor{ID: "user:1", Meta: map[string]any{"a": int64(1)}}
	base := wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "t", Payload: msg.Int(1)}
	var stream []wire.Envelope
	for _, p := range []msg.Value{msg.Int(1), msg.Int(-3), msg.Int(1 << 40), msg.String("x"), msg.Bytes(make([]byte, 300)),
		msg.Nil, msg.Bool(true), msg.Float(1.5), msg.List(msg.Int(1)), msg.String(""), msg.PIDValue(thirdPID)} {
		e := base
		e.Payload = p
		stream = append(stream, e, e)
	}
	for _, change := range []func(*wire.Envelope){
		func(e *wire.Envelope) { e.Kind = 2; e.Err = proc.ErrNoConnection },
		func(e *wire.Envelope) { e.From = pid.PID{} },
		func(e *wire.Envelope) { e.From = thirdPID },
		func(e *wire.Envelope) { e.To = pid.PID{Node: "n2", Host: "app:other", Seq: 1} },
		func(e *wire.Envelope) { e.Topic = "other" },
		func(e *wire.Envelope) { e.FromHost = "app:terminal" },
		func(e *wire.Envelope) { e.Chain = security.RemoteChain{{Actor: actor}} },
		func(e *wire.Envelope) { e.Chain = security.RemoteChain{{ScopeIDs: []string{"app:s"}}} },
		func(e *wire.Envelope) {
			e.Chain = security.RemoteChain{{Actor: &security.Actor{ID: "outer"}}, {Actor: actor, ScopeIDs: []string{"app:s"}}}
		},
	} {
		e := base
		change(&e)
		stream = append(stream, e, e, base, e)
	}
	enc, long := wire.NewEncoder(), wire.NewDecoder()
	for i := range stream {
		body, err := enc.AppendEnvelope(nil, nodes, &stream[i])
		if err != nil {
			t.Fatal(err)
		}
		var got, want wire.Envelope
		if err := long.DecodeEnvelope(body, nodes, &got); err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if err := wire.NewDecoder().DecodeEnvelope(body, nodes, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("envelope %d: long-lived decoder read\n%#v\nfresh one\n%#v", i, got, want)
		}
		// Cut short, it fails as it does for a fresh decoder.
		for _, n := range []int{len(body) - 1, len(body) / 2} {
			errLong := long.DecodeEnvelope(body[:n], nodes, &got)
			errFresh := wire.NewDecoder().DecodeEnvelope(body[:n], nodes, &want)
			if (errLong == nil) != (errFresh == nil) {
				t.Fatalf("envelope %d cut to %d: %v, fresh %v", i, n, errLong, errFresh)
			}
		}
	}
}
