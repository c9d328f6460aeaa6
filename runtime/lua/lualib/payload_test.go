package lualib

import (
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
)

func TestPayload(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	L.SetGlobal("fromMsg", NewPayload(L, msg.StringMap(map[string]msg.Value{"n": msg.Int(3), "b": msg.Bytes([]byte("hi"))})))
	L.SetGlobal("errMsg", NewPayload(L, msg.Error(msg.ErrorValue{Kind: "TIMEOUT", Message: "slow"})))
	runCases(t, L, []luaCase{
		{"formats", `
			local f = payload.format
			eq(f.JSON, "json/plain"); eq(f.YAML, "yaml/plain"); eq(f.STRING, "text/plain")
			eq(f.BYTES, "application/octet-stream"); eq(f.MSGPACK, "application/msgpack")
			eq(f.LUA, "lua/any"); eq(f.GOLANG, "golang/any"); eq(f.ERROR, "golang/error")`},
		{"new and data", `
			local src = {n = 3, list = {1, 2}}
			local p = payload.new(src)
			eq(p:get_format(), "lua/any")
			local d = p:data()
			eq(d.n, 3); eq(d.list[2], 2)
			eq(p:data(), d, "data() returns the same value each call")
			src.n = 4
			eq(p:data().n, 3, "payload holds a copy")
			eq(p:unmarshal().n, 3)
			eq(tostring(p), "payload(lua/any)")`},
		{"scalars", `
			eq(payload.new(nil):data(), nil); eq(payload.new(true):data(), true)
			eq(payload.new(2.5):data(), 2.5); eq(payload.new("s"):data(), "s")`},
		{"error payload", `
			local p = payload.new(errors.new{message = "m", kind = errors.CONFLICT})
			eq(p:get_format(), "golang/error")
			eq(p:data():kind(), "CONFLICT")`},
		{"invalid value", `
			local p, err = payload.new({f = print})
			eq(p, nil); eq(err:kind(), errors.INVALID)`},
		{"transcode json", `
			local p = payload.new({n = 3})
			local j, err = p:transcode(payload.format.JSON)
			eq(err, nil); eq(j:get_format(), "json/plain"); eq(j:data(), '{"n":3}')
			eq(j:unmarshal().n, 3)
			local back = assert(j:transcode(payload.format.LUA))
			eq(back:get_format(), "lua/any"); eq(back:data().n, 3)
			eq(j:transcode(payload.format.JSON), j)`},
		{"transcode not yet", `
			local y, err = payload.new(1):transcode(payload.format.YAML)
			eq(y, nil); eq(err:kind(), errors.INTERNAL)
			assert(err:message():find("not supported yet"))
			local z, err2 = payload.new(1):transcode("nope/nope")
			eq(z, nil); eq(err2:kind(), errors.INVALID)`},
		{"transcode unencodable", `
			local j, err = payload.new({[1] = 1, [3] = 3}):transcode(payload.format.JSON)
			eq(j, nil); eq(err:kind(), errors.INTERNAL)`},
		{"NewPayload from a message", `
			eq(fromMsg:get_format(), "lua/any"); eq(fromMsg:data().n, 3); eq(fromMsg:data().b, "hi")
			eq(errMsg:get_format(), "golang/error"); eq(errMsg:data():message(), "slow")`},
		{"bad self raises", `eq(pcall(payload.new(1).data, {}), false)`},
	})
	v, ok := PayloadValue(L.GetGlobal("fromMsg"))
	if !ok || v.String() != `{"b": bytes(6869), "n": 3}` {
		t.Fatalf("PayloadValue = %s, %v", v, ok)
	}
}
