package transporttest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	"github.com/wippyd/wippyd/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFaultyOverMemnet runs the contract with Faulty's Cut and Partition
// instead of memnet's own, checking the wrapper tcp relies on.
func TestFaultyOverMemnet(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Net {
		mn := memnet.New()
		return transporttest.NewFaulty(
			func(name string) transport.Network { return mn.Host(name) },
			func(name string) string { return name },
		)
	})
}
