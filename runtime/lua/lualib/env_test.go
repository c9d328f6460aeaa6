package lualib

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// denyStore refuses everything, as a permission check would.
type denyStore struct{}

func (denyStore) Get(key string) (string, error) {
	return "", proc.NewError(proc.KindPermissionDenied, "env.get "+key+" denied", msg.False)
}
func (denyStore) Set(key, value string) error     { return fmt.Errorf("read-only storage") }
func (denyStore) All() (map[string]string, error) { return nil, fmt.Errorf("wrapped: %w", ErrNotFound) }

func TestEnv(t *testing.T) {
	store := NewEnvMap(map[string]string{"PORT": "8080", "EMPTY": ""})
	L, _ := newState(t, Options{}, &testHost{env: store})
	runCases(t, L, []luaCase{
		{"get", `
			local env = require("env")
			eq(env.get("PORT"), "8080"); eq(env.get("EMPTY"), "")
			local port = env.get("NOPE") or "9090"; eq(port, "9090")`},
		{"get not found", `
			local v, err = require("env").get("NOPE")
			eq(v, nil); eq(err:kind(), errors.NOT_FOUND); assert(err:message():find("NOPE"))`},
		{"get empty key", `
			local v, err = require("env").get("")
			eq(v, nil); eq(err:kind(), errors.INVALID)`},
		{"set", `
			local env = require("env")
			eq(env.set("NEW", "v"), true); eq(env.get("NEW"), "v")
			eq(env.set("NUM", 5), true); eq(env.get("NUM"), "5")
			local ok, err = env.set("", "x"); eq(ok, nil); eq(err:kind(), errors.INVALID)
			eq(pcall(env.set, "K"), false)`},
		{"get_all", `
			local all = require("env").get_all()
			eq(all.PORT, "8080"); eq(all.NEW, "v")`},
	})
	if v, _ := store.Get("NEW"); v != "v" {
		t.Fatalf("store not written: %q", v)
	}
}

func TestEnvStoreErrors(t *testing.T) {
	L, _ := newState(t, Options{}, &testHost{env: denyStore{}})
	runCases(t, L, []luaCase{
		{"permission", `
			local v, err = require("env").get("SECRET")
			eq(v, nil); eq(err:kind(), errors.PERMISSION_DENIED)`},
		{"plain error is UNKNOWN", `
			local ok, err = require("env").set("K", "v")
			eq(ok, nil); eq(err:kind(), errors.UNKNOWN); eq(err:message(), "read-only storage")`},
		{"wrapped ErrNotFound is NOT_FOUND", `
			local all, err = require("env").get_all()
			eq(all, nil); eq(err:kind(), errors.NOT_FOUND)`},
	})
	if _, err := NewEnvMap(nil).Get("x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("EnvMap.Get: %v", err)
	}
}
