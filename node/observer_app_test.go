package node

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
)

const observedApp = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - {name: pg, kind: pg.scope}
  - {name: listener, kind: process.lua, source: file://listener.lua, method: main, modules: [pg]}
  - name: orders
    kind: process.service
    process: app:listener
    host: app:processes
    lifecycle: {auto_start: true}
`

// A Lua service seen through the observer: its entry, local name,
// listened topics, held messages as mailbox depth, its pg group; and a
// restart through the observer, which needs the token.
func TestObserverLuaService(t *testing.T) {
	app, err := entry.LoadFS(fstest.MapFS{
		"app.yaml": {Data: []byte(observedApp)},
		"listener.lua": {Data: []byte(`return {main = function()
  local pg = require("pg")
  assert(process.registry.register("order-desk"))
  process.listen("orders.new")
  process.listen("orders.cancelled")
  assert(assert(pg.open("app:pg")):join("desks"))
  process.events():receive() -- CANCEL; the messages stay queued meanwhile
end}`)},
	}, ".", compileLua)
	if err != nil {
		t.Fatal(err)
	}
	cfg := LoopbackConfig("lua")
	cfg.Node.Workers = 2
	cfg.Admin.Addr = "127.0.0.1:0"
	cfg.Admin.Token = adminTestToken
	n, err := New(cfg, WithApp(app), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	var row ObsProcess
	await.Until(t, "the service listed under its entry and name", func() bool {
		pg := obsJSON[ObsProcessPage](t, n, "/v1/nodes/lua/processes?entry=app:listener&name=order")
		if len(pg.Processes) == 1 {
			row = pg.Processes[0]
		}
		return len(pg.Processes) == 1 && slices.Equal(row.Names, []string{"order-desk"})
	})
	path := "/v1/nodes/lua/processes/" + url.PathEscape(row.PID)
	await.Until(t, "its topics and group", func() bool {
		d := obsJSON[ObsProcessDetail](t, n, path)
		g := obsJSON[ObsGroups](t, n, "/v1/nodes/lua/groups")
		if p := obsJSON[ObsGroups](t, n, "/v1/nodes/lua/groups?group=nobody"); len(p.Scopes) != 1 || p.Scopes[0].Total != 0 {
			t.Fatalf("groups filtered by a name no group has: %+v", p)
		}
		return slices.Equal(d.Topics, []string{"orders.cancelled", "orders.new"}) &&
			len(g.Scopes) == 1 && g.Scopes[0].Scope == "app:pg" && len(g.Scopes[0].Groups) == 1 &&
			g.Scopes[0].Groups[0].Name == "desks" && slices.Equal(g.Scopes[0].Groups[0].Members, []string{row.PID})
	})
	id, _ := pid.Parse(row.PID)
	for range 4 {
		if err := n.Runtime().Send(pid.PID{}, id, "orders.new", msg.Int(1)); err != nil {
			t.Fatal(err)
		}
	}
	await.Until(t, "four messages held in its listen channel", func() bool {
		return obsJSON[ObsProcessDetail](t, n, path).Mailbox == 4
	})
	if names := obsJSON[ObsNames](t, n, "/v1/nodes/lua/names"); names.Scopes["local"].Total != 1 ||
		names.Scopes["local"].Names[0].PID != row.PID {
		t.Fatalf("names %+v", names)
	}
	nv := obsJSON[ObsNodeView](t, n, "/v1/nodes/lua")
	if len(nv.Services) != 1 || nv.Services[0].State != "running" || nv.Services[0].PID != row.PID {
		t.Fatalf("services %+v", nv.Services)
	}
	if code, _ := obsCall(t, n, "POST", "/v1/nodes/lua/services/app:orders/restart", ""); code != 401 {
		t.Fatalf("restart without the token = %d", code)
	}
	if code, body := obsCall(t, n, "POST", "/v1/nodes/lua/services/app:orders/restart", adminTestToken); code != 202 {
		t.Fatalf("restart = %d %s", code, body)
	}
	await.Until(t, "the service running again in a new process", func() bool {
		s := obsJSON[ObsNodeView](t, n, "/v1/nodes/lua").Services[0]
		return s.State == "running" && s.PID != "" && s.PID != row.PID
	})
	if code, _ := obsCall(t, n, "GET", path, ""); code != 404 {
		t.Fatalf("the old service process = %d, want 404", code)
	}
}
