package lualib

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

const benchValue = `{id = 42, name = "job-17", tags = {"a", "b", "c"}, opts = {retries = 3, ratio = 0.5, on = true}}`

func benchState(b *testing.B) (*lua.LState, lua.LValue) {
	L := lua.NewState()
	b.Cleanup(L.Close)
	New(L, Options{}).Bind(L, nil)
	if err := L.DoString("return " + benchValue); err != nil {
		b.Fatal(err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return L, v
}

func BenchmarkToValue(b *testing.B) {
	L, v := benchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToValue(L, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromValue(b *testing.B) {
	L, v := benchState(b)
	val, err := ToValue(L, v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		FromValue(L, val)
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	L, v := benchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeJSON(L, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	L, v := benchState(b)
	s, err := EncodeJSON(L, v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(L, s); err != nil {
			b.Fatal(err)
		}
	}
}
