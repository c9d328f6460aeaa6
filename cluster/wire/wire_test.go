package wire_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

func TestRoundTrip(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			body, err := encode(e, s.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(d, body, s.msg)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, s.msg) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, s.msg)
			}
		})
	}
}

func TestTypeOf(t *testing.T) {
	e := wire.NewEncoder()
	for _, s := range samples() {
		body, _ := encode(e, s.msg)
		typ, err := wire.TypeOf(body)
		if err != nil {
			t.Fatal(err)
		}
		var want wire.Type
		switch s.msg.(type) {
		case *wire.Envelope:
			want = wire.TypeEnvelope
		case *wire.SpawnRequest:
			want = wire.TypeSpawnRequest
		case *wire.SpawnReply:
			want = wire.TypeSpawnReply
		case *wire.Groupcast:
			want = wire.TypeGroupcast
		}
		if typ != want {
			t.Errorf("%s: type %v, want %v", s.name, typ, want)
		}
	}
	if _, err := wire.TypeOf(nil); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("empty body: %v", err)
	}
	if _, err := wire.TypeOf([]byte{0}); !errors.Is(err, wire.ErrUnknownType) {
		t.Errorf("type 0: %v", err)
	}
	if _, err := wire.TypeOf([]byte{200, 0x90}); !errors.Is(err, wire.ErrUnknownType) {
		t.Errorf("type 200: %v", err)
	}
}

// TestNodeShorthands checks that PIDs of either end travel without their
// node name and come back with the right one, and that a PID of a third
// node keeps its name.
func TestNodeShorthands(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	m := &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "t"}
	body, err := e.AppendEnvelope(nil, nodes, m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("n1")) || bytes.Contains(body, []byte("n2")) {
		t.Fatalf("node names on the wire: %x", body)
	}
	m.From = thirdPID
	body, _ = e.AppendEnvelope(nil, nodes, m)
	if !bytes.Contains(body, []byte("n3")) {
		t.Fatalf("third node name missing: %x", body)
	}
	// A PID written without a node is one of the sending node.
	m.From = pid.PID{Host: "h", Seq: 3}
	body, _ = e.AppendEnvelope(nil, nodes, m)
	var got wire.Envelope
	if err := d.DecodeEnvelope(body, nodes, &got); err != nil {
		t.Fatal(err)
	}
	if got.From != (pid.PID{Node: "n1", Host: "h", Seq: 3}) {
		t.Fatalf("from = %v", got.From)
	}
	// Decoded by a node that sees other names, the shorthands follow them.
	body, _ = e.AppendEnvelope(nil, nodes, &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "t"})
	if err := d.DecodeEnvelope(body, wire.Nodes{Sender: "a", Receiver: "b"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.From.Node != "a" || got.To.Node != "b" {
		t.Fatalf("from %v to %v", got.From, got.To)
	}
}

// TestExtraFields checks that a later version's appended fields are
// skipped, and that fewer fields than known are refused.
func TestExtraFields(t *testing.T) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	buf.WriteByte(byte(wire.TypeSpawnReply))
	enc.EncodeArrayLen(5)
	enc.EncodeUint(7)
	enc.EncodeArrayLen(4) // a pid with one extra field
	enc.EncodeUint(0)
	enc.EncodeString("h")
	enc.EncodeUint(9)
	enc.EncodeString("future")
	enc.EncodeNil()
	enc.EncodeString("future field")
	enc.EncodeArrayLen(1)
	enc.EncodeInt(-1)
	var got wire.SpawnReply
	if err := wire.NewDecoder().DecodeSpawnReply(buf.Bytes(), nodes, &got); err != nil {
		t.Fatal(err)
	}
	want := wire.SpawnReply{ID: 7, PID: pid.PID{Node: "n1", Host: "h", Seq: 9}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}

	buf.Reset()
	buf.WriteByte(byte(wire.TypeSpawnReply))
	enc.EncodeArrayLen(2)
	enc.EncodeUint(7)
	enc.EncodeNil()
	if err := wire.NewDecoder().DecodeSpawnReply(buf.Bytes(), nodes, &got); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("two fields: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	e := wire.NewEncoder()
	prefix := []byte{1, 2, 3}
	cases := map[string]*wire.Envelope{
		"kind 0":      {Kind: 0},
		"meta slice":  {Kind: 1, Chain: oneLayer(&security.Actor{ID: "a", Meta: map[string]any{"x": []int{1}}})},
		"deep":        {Kind: 1, Payload: deep(msg.MaxDepth + 1)},
		"bad error":   {Kind: 2, Err: &proc.Error{Kind: "X", Retryable: 9}},
		"meta struct": {Kind: 1, Chain: oneLayer(&security.Actor{Meta: map[string]any{"x": struct{}{}}})},
		"long chain":  {Kind: 1, Chain: make(security.RemoteChain, security.MaxLayers+2)},
		"deep meta":   {Kind: 1, Chain: oneLayer(&security.Actor{Meta: deepMeta(msg.MaxDepth + 1)})},
	}
	for name, m := range cases {
		out, err := e.AppendEnvelope(prefix, nodes, m)
		if !errors.Is(err, wire.ErrEncode) {
			t.Errorf("%s: err = %v", name, err)
		}
		if !bytes.Equal(out, prefix) {
			t.Errorf("%s: output %x, want the prefix unchanged", name, out)
		}
	}
	// The encoder is usable after an error.
	if _, err := e.AppendEnvelope(nil, nodes, &wire.Envelope{Kind: 1}); err != nil {
		t.Fatal(err)
	}
}

func oneLayer(a *security.Actor) security.RemoteChain { return security.RemoteChain{{Actor: a}} }

func deepMeta(n int) map[string]any {
	m := map[string]any{}
	for range n {
		m = map[string]any{"k": m}
	}
	return m
}

func deep(n int) msg.Value {
	v := msg.Nil
	for range n {
		v = msg.List(v)
	}
	return v
}

func TestMetaScalars(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	meta := map[string]any{
		"i": int(-5), "i8": int8(-8), "i16": int16(300), "i32": int32(-70000), "i64": int64(math.MinInt64),
		"u": uint(5), "u8": uint8(200), "u16": uint16(60000), "u32": uint32(1 << 31), "u64": uint64(math.MaxUint64),
		"f32": float32(1.5), "f64": -2.25, "s": "x", "b": false, "n": nil,
	}
	want := map[string]any{
		"i": int64(-5), "i8": int64(-8), "i16": int64(300), "i32": int64(-70000), "i64": int64(math.MinInt64),
		"u": int64(5), "u8": int64(200), "u16": int64(60000), "u32": int64(1 << 31), "u64": uint64(math.MaxUint64),
		"f32": 1.5, "f64": -2.25, "s": "x", "b": false, "n": nil,
	}
	meta["list"], want["list"] = []string{"a", "b"}, []any{"a", "b"}
	meta["nested"] = map[string]any{"l": []any{int8(1), map[string]any{"x": "y"}}}
	want["nested"] = map[string]any{"l": []any{int64(1), map[string]any{"x": "y"}}}
	body, err := e.AppendEnvelope(nil, nodes, &wire.Envelope{Kind: 1, Chain: oneLayer(&security.Actor{ID: "a", Meta: meta})})
	if err != nil {
		t.Fatal(err)
	}
	var got wire.Envelope
	if err := d.DecodeEnvelope(body, nodes, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Chain[0].Actor.Meta, want) {
		t.Fatalf("meta = %#v", got.Chain[0].Actor.Meta)
	}
}

// TestHostile feeds the decoders broken bodies: every prefix of every
// sample, every sample with one byte changed, and hand-made lies.
func TestHostile(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	for _, s := range samples() {
		body, _ := encode(e, s.msg)
		for i := 0; i < len(body); i++ {
			if _, err := decode(d, body[:i], s.msg); err == nil {
				t.Fatalf("%s: prefix of %d bytes decoded", s.name, i)
			} else if !errors.Is(err, wire.ErrTruncated) && !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrUnknownType) {
				t.Fatalf("%s: prefix %d: unclassified error %v", s.name, i, err)
			}
		}
		if _, err := decode(d, append(body, 0xc0), s.msg); !errors.Is(err, wire.ErrMalformed) {
			t.Fatalf("%s: trailing byte: %v", s.name, err)
		}
		for i := range body {
			for _, b := range []byte{0x00, 0x7f, 0x90, 0xc0, 0xc1, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0xff} {
				mut := bytes.Clone(body)
				mut[i] = b
				decode(d, mut, s.msg) // must not panic
			}
		}
	}
	lies := map[string][]byte{
		"array32 of 4G":       {1, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"topic of 4G":         {1, 0x99, 1, 0xc0, 0xc0, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"scope of 4G":         {1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"meta of 4G":          {1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0x92, 0xa0, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"kind 0":              {1, 0x99, 0, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		"kind 256":            {1, 0x99, 0xcd, 1, 0, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		"negative kind":       {1, 0x99, 0xff, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		"node shorthand 2":    {1, 0x99, 1, 0x93, 2, 0xa1, 'h', 1, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		"error field not err": {1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 1, 0xc0, 0xc0, 0xc0},
		"dup meta key":        {1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0x92, 0xa0, 0x82, 0xa1, 'k', 1, 0xa1, 'k', 2, 0xc0, 0xc0},
		"meta nested too deep": append(append([]byte{1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0x92, 0xa0, 0x81, 0xa1, 'k'},
			bytes.Repeat([]byte{0x91}, msg.MaxDepth+1)...), 0xc0, 0xc0, 0xc0),
		"outer of 33 layers": append([]byte{1, 0x9a, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdc, 0, 33},
			bytes.Repeat([]byte{0x92, 0xc0, 0xc0}, 33)...),
		"outer not an array":  {1, 0x9a, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x01},
		"layer of one field":  {1, 0x9a, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0x91, 0xc0},
		"deep extra field":    append(append([]byte{1, 0x9b, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, bytes.Repeat([]byte{0x91}, 1<<16)...), 0xc0),
		"wrong type":          {2, 0x93, 1, 0xc0, 0xc0},
		"from host not a str": {1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0x01},
	}
	for _, ok := range [][]byte{
		{1, 0x99, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
		append([]byte{1, 0x9a, 1, 0xc0, 0xc0, 0xa0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdc, 0, 32}, bytes.Repeat([]byte{0x92, 0xc0, 0xc0}, 32)...),
	} {
		var env wire.Envelope
		if err := d.DecodeEnvelope(ok, nodes, &env); err != nil {
			t.Fatalf("control body: %v", err)
		}
	}
	for name, body := range lies {
		var env wire.Envelope
		if err := d.DecodeEnvelope(body, nodes, &env); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestPreviousVersion: bodies of the previous version (an envelope of 9
// fields, a spawn request of 10, as its golden file had them) decode:
// the sender's context as its one layer, a spawn with no parent.
func TestPreviousVersion(t *testing.T) {
	d := wire.NewDecoder()
	env, _ := hex.DecodeString("0199019300ad6170703a70726f6365737365734a9301ad6170703a70726f636573736573ce00100000a178c0c092a7757365723a343285a56c6576656c03a46e6f6e65c0a26f6ec3a5726174696fcb3fe0000000000000a4726f6c65a561646d696e92ad6170703a6e6f2d73797374656dab6170703a73616e64626f78c0")
	var m wire.Envelope
	if err := d.DecodeEnvelope(env, nodes, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Chain) != 1 || m.Chain[0].Actor.ID != "user:42" || !slices.Equal(m.Chain[0].ScopeIDs, []string{"app:no-system", "app:sandbox"}) {
		t.Fatalf("envelope chain %+v", m.Chain)
	}
	req, _ := hex.DecodeString("029a099300ad6170703a70726f6365737365734ab36170702e776f726b6572733a68616e646c6572ad6170703a70726f6365737365739201a374776f01a6776f726b657292a4696e6974c392a7757365723a343285a56c6576656c03a46e6f6e65c0a26f6ec3a5726174696fcb3fe0000000000000a4726f6c65a561646d696e91ab6170703a73616e64626f78")
	var r wire.SpawnRequest
	if err := d.DecodeSpawnRequest(req, nodes, &r); err != nil {
		t.Fatal(err)
	}
	if r.HasParent || r.Parent != nil || !r.Context.IsNil() || r.Actor.ID != "user:42" {
		t.Fatalf("spawn request %+v", r)
	}
}

// TestDecoderReuse checks that a decoder's interned strings and scratch
// buffer never leak into returned values across messages.
func TestDecoderReuse(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	var got []wire.Envelope
	for i := range 3000 {
		topic := string(rune('a'+i%26)) + "topic"
		body, err := e.AppendEnvelope(nil, nodes, &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: topic, Payload: msg.Int(int64(i))})
		if err != nil {
			t.Fatal(err)
		}
		var m wire.Envelope
		if err := d.DecodeEnvelope(body, nodes, &m); err != nil {
			t.Fatal(err)
		}
		clear(body)
		got = append(got, m)
	}
	for i, m := range got {
		if want := string(rune('a'+i%26)) + "topic"; m.Topic != want || m.From != fromPID || m.To != toPID {
			t.Fatalf("%d: %v %v %q", i, m.From, m.To, m.Topic)
		}
		if n, _ := m.Payload.AsInt(); n != int64(i) {
			t.Fatalf("%d: payload %v", i, m.Payload)
		}
	}
}

func BenchmarkEncodeEnvelope64B(b *testing.B) {
	e := wire.NewEncoder()
	m := &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "data", Payload: msg.Bytes(make([]byte, 64))}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.AppendEnvelope(buf[:0], nodes, m)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeEnvelope64B(b *testing.B) { benchDecode(b, nil) }

func benchDecode(b *testing.B, chain security.RemoteChain) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	body, _ := e.AppendEnvelope(nil, nodes, &wire.Envelope{Kind: 1, From: fromPID, To: toPID, Topic: "data", Payload: msg.Bytes(make([]byte, 64)), Chain: chain})
	var m wire.Envelope
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeEnvelope(body, nodes, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecoderCaches decodes a stream where PIDs, topics and node names
// change and repeat in every combination, and checks each result against
// a fresh decoder's.
func TestDecoderCaches(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	pids := []pid.PID{fromPID, toPID, thirdPID, {Node: "n1", Host: "app:processes", Seq: 0x4b}, {}}
	topics := []string{"a", "b", "", "a"}
	pairs := []wire.Nodes{nodes, {Sender: "n2", Receiver: "n1"}, {Sender: "n3", Receiver: "n1"}}
	actors := []*security.Actor{nil, {ID: "a", Meta: map[string]any{"k": int64(1)}}, {ID: "a", Meta: map[string]any{"k": int64(2)}}, {ID: "b"}}
	scopes := [][]string{nil, {"p1"}, {"p1", "p2"}, {}}
	outers := []security.RemoteChain{nil, {{}}, {{Actor: actors[1], ScopeIDs: scopes[1]}}, {{}, {Actor: actors[3]}}}
	for i := range 1000 {
		var chain security.RemoteChain
		inner := security.RemoteLayer{Actor: actors[(i/2)%len(actors)], ScopeIDs: scopes[(i/5)%len(scopes)]}
		if outer := outers[(i/13)%len(outers)]; outer != nil || inner.Actor != nil || inner.ScopeIDs != nil {
			chain = append(append(security.RemoteChain{}, outer...), inner)
		}
		m := &wire.Envelope{Kind: 1, From: pids[i%len(pids)], To: pids[(i/3)%len(pids)], Topic: topics[(i/7)%len(topics)], Payload: msg.Int(int64(i)),
			Chain: chain}
		n := pairs[(i/11)%len(pairs)]
		body, err := e.AppendEnvelope(nil, n, m)
		if err != nil {
			t.Fatal(err)
		}
		var got, want wire.Envelope
		if err := d.DecodeEnvelope(body, n, &got); err != nil {
			t.Fatal(err)
		}
		if err := wire.NewDecoder().DecodeEnvelope(body, n, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got.Chain, m.Chain) {
			t.Fatalf("message %d: cached decoder gave %+v, fresh one %+v", i, got, want)
		}
	}
}

// BenchmarkDecodeEnvelopeIdentity64B decodes envelopes of a sender with an
// actor and a scope: the chain is the one decoded last, not made again.
func BenchmarkDecodeEnvelopeIdentity64B(b *testing.B) {
	benchDecode(b, security.RemoteChain{{Actor: &security.Actor{ID: "svc", Meta: map[string]any{"role": "worker"}}, ScopeIDs: []string{"app:a", "app:b"}}})
}
