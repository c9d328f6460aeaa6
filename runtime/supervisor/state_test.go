package supervisor

import (
	"errors"
	"testing"
)

func TestStateString(t *testing.T) {
	want := map[State]string{
		Stopped: "stopped", Starting: "starting", Running: "running", Stopping: "stopping",
		Exited: "exited", Failed: "failed", Restarting: "restarting", State(99): "state(99)",
	}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("State(%d).String() = %q, want %q", uint8(s), s.String(), w)
		}
	}
	var zero State
	if zero != Stopped {
		t.Fatalf("zero State = %s, want stopped", zero)
	}
}

func TestLegal(t *testing.T) {
	all := []State{Stopped, Starting, Running, Stopping, Exited, Failed, Restarting}
	legal := map[[2]State]bool{
		{Stopped, Starting}:    true,
		{Starting, Running}:    true,
		{Starting, Restarting}: true,
		{Starting, Exited}:     true,
		{Starting, Failed}:     true,
		{Starting, Stopping}:   true,
		{Running, Restarting}:  true,
		{Running, Exited}:      true,
		{Running, Failed}:      true,
		{Running, Stopping}:    true,
		{Restarting, Starting}: true,
		{Restarting, Stopped}:  true,
		{Stopping, Stopped}:    true,
		{Exited, Starting}:     true,
		{Failed, Starting}:     true,
	}
	for _, from := range all {
		for _, to := range all {
			want := legal[[2]State{from, to}]
			if got := Legal(from, to); got != want {
				t.Errorf("Legal(%s, %s) = %v, want %v", from, to, got, want)
			}
			err := Transition(from, to)
			if want && err != nil {
				t.Errorf("Transition(%s, %s) = %v, want nil", from, to, err)
			}
			if !want && !errors.Is(err, ErrIllegalTransition) {
				t.Errorf("Transition(%s, %s) = %v, want ErrIllegalTransition", from, to, err)
			}
		}
	}
	if Legal(State(42), Starting) || Legal(Stopped, State(42)) {
		t.Fatal("unknown states must never be legal")
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range []State{Stopped, Starting, Running, Stopping, Exited, Failed, Restarting} {
		want := s == Stopped || s == Exited || s == Failed
		if s.Terminal() != want {
			t.Errorf("%s.Terminal() = %v, want %v", s, s.Terminal(), want)
		}
	}
}
