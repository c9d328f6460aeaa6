package memnet_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	"github.com/wippyd/wippyd/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness adapts a memnet.Network to the contract suite, using its own
// fault hooks.
type harness struct{ *memnet.Network }

func (h harness) Host(name string) transport.Network { return h.Network.Host(name) }
func (h harness) BindAddr(name string) string        { return name }

func TestContract(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Net { return harness{memnet.New()} })
}

func TestContractSealed(t *testing.T) {
	transporttest.RunSealed(t, func(*testing.T) transporttest.Net { return harness{memnet.New()} })
}
