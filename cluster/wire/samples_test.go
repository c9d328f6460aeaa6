package wire_test

import (
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
