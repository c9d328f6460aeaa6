package tcp_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
	"github.com/wippyd/wippyd/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newNet(t *testing.T) transporttest.Net {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return transporttest.NewFaulty(
		func(string) transport.Network { return nw },
		func(string) string { return "127.0.0.1:0" },
	)
}

func TestContract(t *testing.T) { transporttest.Run(t, newNet) }

func TestContractSealed(t *testing.T) { transporttest.RunSealed(t, newNet) }
