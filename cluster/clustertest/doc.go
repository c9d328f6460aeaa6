// Package clustertest runs n wippyd nodes in one test process: each node
// is a runtime.Runtime (two workers, host "app:processes" first) with a
// transport endpoint on a shared transport/memnet network and a
// cluster.Cluster, all connected to each other. Membership is faked: the
// harness tells every node about the others (member up with address and
// boot id) and, when a node is killed, that it failed — no memberlist.
//
//	c := clustertest.New(t, 3, clustertest.Catalog(cat))
//	rt0 := c.Node(0).Runtime
//	c.Partition(0, 1) // cut node 0 off from node 1 (transport only: no member events)
//	c.Heal()
//	c.Pause(1)        // node 1's traffic held back; the others get "node 1 failed"
//	c.Resume(1)       // held traffic flows; the others get "node 1 up", same boot id
//	c.Kill(2)         // abrupt stop; the others get "node 2 failed"
//	c.Restart(2)      // same name, new boot id, new PIDs
//
// Everything is stopped by t.Cleanup, and nothing keeps running (the
// packages using it check with goleak).
//
// The harness methods are meant for the test goroutine: they are not safe
// for concurrent use with each other. The nodes themselves are as
// concurrent as in production.
package clustertest
