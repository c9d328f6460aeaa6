package lualib

import (
	"errors"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// EnvStore holds env variables as one process sees them (Host.Env). The
// node backs it with its `env:` config map and env.variable entries.
//
// Permissions: the env module checks env.get and env.set on the variable
// name with the process's policies before it calls the store (see
// Authorizer), and get_all keeps only what the process may env.get. A store
// may refuse more itself with a PERMISSION_DENIED *proc.Error (a read-only
// storage answers Set so). Errors that are not *proc.Error are reported as
// UNKNOWN, except those wrapping ErrNotFound, which are NOT_FOUND.
type EnvStore interface {
	// Get returns the value of key, or an error wrapping ErrNotFound.
	Get(key string) (string, error)
	// Set stores value under key.
	Set(key, value string) error
	// All returns every variable; the map is the caller's.
	All() (map[string]string, error)
}

// EnvMap is an in-memory EnvStore, safe for concurrent use. It has no
// permission checks.
type EnvMap struct {
	mu sync.RWMutex
	m  map[string]string
}

var _ EnvStore = (*EnvMap)(nil)

// NewEnvMap returns an EnvMap holding a copy of vars.
func NewEnvMap(vars map[string]string) *EnvMap {
	m := make(map[string]string, len(vars))
	for k, v := range vars {
		m[k] = v
	}
	return &EnvMap{m: m}
}

// Get implements EnvStore.
func (e *EnvMap) Get(key string) (string, error) {
	e.mu.RLock()
	v, ok := e.m[key]
	e.mu.RUnlock()
	if !ok {
		return "", proc.Errorf(proc.KindNotFound, msg.False, "%w: env variable %q", ErrNotFound, key)
	}
	return v, nil
}

// Set implements EnvStore.
func (e *EnvMap) Set(key, value string) error {
	e.mu.Lock()
	e.m[key] = value
	e.mu.Unlock()
	return nil
}

// All implements EnvStore.
func (e *EnvMap) All() (map[string]string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]string, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out, nil
}

// envError maps a store error to the error object kind.
func envError(err error) *proc.Error {
	var pe *proc.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, ErrNotFound) {
		return proc.Errorf(proc.KindNotFound, msg.False, "%w", err)
	}
	return proc.AsError(err)
}

func envStore(L *lua.LState) (EnvStore, *proc.Error) {
	if h := HostOf(L); h != nil {
		if s := h.Env(); s != nil {
			return s, nil
		}
	}
	return nil, proc.Errorf(proc.KindUnavailable, msg.False, "%w", ErrNoEnv)
}

// envAuthorize checks action on key for the process bound to L.
func envAuthorize(L *lua.LState, action security.Action, key string) *proc.Error {
	if a, ok := HostOf(L).(Authorizer); ok {
		if err := a.Authorize(action, key); err != nil {
			return proc.AsError(err)
		}
	}
	return nil
}

func (lib *Lib) openEnv(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 3)
	setFuncs(L, t, map[string]lua.LGFunction{
		"get": func(L *lua.LState) int {
			key := L.CheckString(1)
			if key == "" {
				return lib.pushErr(L, invalid(ErrEmptyKey, "env variable name"))
			}
			if perr := envAuthorize(L, security.ActionEnvGet, key); perr != nil {
				return lib.pushErr(L, perr)
			}
			s, perr := envStore(L)
			if perr != nil {
				return lib.pushErr(L, perr)
			}
			v, err := s.Get(key)
			if err != nil {
				return lib.pushErr(L, envError(err))
			}
			L.Push(lua.LString(v))
			return 1
		},
		"set": func(L *lua.LState) int {
			key, value := L.CheckString(1), L.CheckString(2)
			if key == "" {
				return lib.pushErr(L, invalid(ErrEmptyKey, "env variable name"))
			}
			if perr := envAuthorize(L, security.ActionEnvSet, key); perr != nil {
				return lib.pushErr(L, perr)
			}
			s, perr := envStore(L)
			if perr != nil {
				return lib.pushErr(L, perr)
			}
			if err := s.Set(key, value); err != nil {
				return lib.pushErr(L, envError(err))
			}
			L.Push(lua.LTrue)
			return 1
		},
		"get_all": func(L *lua.LState) int {
			s, perr := envStore(L)
			if perr != nil {
				return lib.pushErr(L, perr)
			}
			all, err := s.All()
			if err != nil {
				return lib.pushErr(L, envError(err))
			}
			az, _ := HostOf(L).(Authorizer)
			t := L.CreateTable(0, len(all))
			for k, v := range all {
				if az == nil || az.Can(security.ActionEnvGet, k, nil) {
					t.RawSetString(k, lua.LString(v))
				}
			}
			L.Push(t)
			return 1
		},
	})
	return t
}
