package runtimetest_test

import (
	"fmt"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/runtimetest"
)

// session is a Go-native process under test: it greets whoever says
// "hello" and ends itself after a minute of silence.
type session struct{ idle proc.TimerID }

func (s *session) Init(c *native.Ctx, _ []msg.Value) error {
	s.idle = c.After(time.Minute)
	return nil
}

func (s *session) HandleMessage(c *native.Ctx, m native.Message) error {
	c.StopTimer(s.idle)
	s.idle = c.After(time.Minute)
	name, _ := m.Payload.AsString()
	return c.Send(m.From, "greeting", msg.String("hello, "+name))
}

func (s *session) HandleTimer(c *native.Ctx, id proc.TimerID) error {
	c.Stop(msg.String("idle"))
	return nil
}

// reporter stands in for the *testing.T a test passes to New.
type reporter struct{}

func (reporter) Helper()                      {}
func (reporter) Errorf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (reporter) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// A test of a Go-native process: drive it with messages and time, and look
// at what it sent and how it ended. In a test, pass the *testing.T to New.
func Example() {
	var t runtimetest.TB = reporter{}
	alice := pid.PID{Node: "test", Host: "app:clients", Seq: 7}

	h := runtimetest.New(t, native.New(&session{}))
	h.Start()
	h.Send(alice, "hello", msg.String("alice"))
	for _, s := range h.TakeSent() {
		fmt.Println(s.To, s.Topic, s.Payload)
	}

	h.Advance(59 * time.Second) // the greeting restarted the idle timer
	_, done := h.Done()
	fmt.Println("done after 59s:", done)

	h.Advance(time.Second)
	res, done := h.Done()
	fmt.Println("done after 60s:", done, res.Value, h.Now().Format(time.TimeOnly))
	// Output:
	// {test@app:clients|0x00007} greeting "hello, alice"
	// done after 59s: false
	// done after 60s: true "idle" 00:01:00
}
