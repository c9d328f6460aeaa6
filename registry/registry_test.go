package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestErrors(t *testing.T) {
	all := []error{
		ErrNotFound, ErrAlreadyExists, ErrNotOwner, ErrInvalidName, ErrInvalidPID,
		ErrUnavailable, ErrNoClusterRegistry, ErrUnknownOutcome, ErrWatchLagged, ErrClosed,
	}
	seen := map[string]bool{}
	for _, err := range all {
		msg := err.Error()
		if !strings.HasPrefix(msg, "registry: ") {
			t.Errorf("%q lacks the package prefix", msg)
		}
		if seen[msg] {
			t.Errorf("duplicate message %q", msg)
		}
		seen[msg] = true
	}
	for _, err := range []error{ErrNoClusterRegistry, ErrUnknownOutcome} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%v does not wrap ErrUnavailable", err)
		}
	}
	if errors.Is(ErrNoClusterRegistry, ErrUnknownOutcome) || errors.Is(ErrUnknownOutcome, ErrNoClusterRegistry) {
		t.Error("ErrNoClusterRegistry and ErrUnknownOutcome must be distinguishable")
	}
	if got := ErrNoClusterRegistry.Error(); got != "registry: unavailable: no cluster registry" {
		t.Errorf("ErrNoClusterRegistry = %q", got)
	}
}

func TestValidateName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"", false},
		{"a", true},
		{"cache", true},
		{"with space and \x00 and ünïcode", true},
		{strings.Repeat("x", MaxNameLen), true},
		{strings.Repeat("x", MaxNameLen+1), false},
	}
	for _, c := range cases {
		err := ValidateName(c.name)
		if c.ok && err != nil {
			t.Errorf("ValidateName(len %d) = %v, want nil", len(c.name), err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(len %d) = %v, want ErrInvalidName", len(c.name), err)
		}
	}
}

func TestValidatePID(t *testing.T) {
	long := strings.Repeat("n", MaxNodeLen+1)
	cases := []struct {
		p  pid.PID
		ok bool
	}{
		{pid.PID{Node: "n1", Host: "app:processes", Seq: 1}, true},
		{pid.PID{Node: strings.Repeat("n", MaxNodeLen), Host: strings.Repeat("h", MaxHostLen), Seq: ^uint64(0)}, true},
		{pid.PID{}, false},
		{pid.PID{Host: "app:processes", Seq: 1}, false},
		{pid.PID{Node: "n1", Seq: 1}, false},
		{pid.PID{Node: "n1", Host: "app:processes"}, false},
		{pid.PID{Node: long, Host: "h", Seq: 1}, false},
		{pid.PID{Node: "n1", Host: strings.Repeat("h", MaxHostLen+1), Seq: 1}, false},
	}
	for _, c := range cases {
		err := ValidatePID(c.p)
		if c.ok && err != nil {
			t.Errorf("ValidatePID(%v) = %v, want nil", c.p, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidPID) {
			t.Errorf("ValidatePID(%#v) = %v, want ErrInvalidPID", c.p, err)
		}
	}
	if ValidateNode("n1") != nil || !errors.Is(ValidateNode(""), ErrInvalidPID) || !errors.Is(ValidateNode(long), ErrInvalidPID) {
		t.Error("ValidateNode disagrees with ValidatePID")
	}
}

func TestStrings(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{EventRegistered.String(), "registered"},
		{EventUnregistered.String(), "unregistered"},
		{EventKind(9).String(), "EventKind(9)"},
		{CauseRequest.String(), "request"},
		{CauseExit.String(), "exit"},
		{CauseNodeDown.String(), "node down"},
		{CauseRestore.String(), "restore"},
		{CauseSync.String(), "sync"},
		{Cause(0).String(), "Cause(0)"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
