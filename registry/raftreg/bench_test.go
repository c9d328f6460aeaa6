package raftreg

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// Benchmarks of a 3-node cluster in one process, over memnet or loopback
// TCP, with the log on disk (raft-wal in a temporary directory, one fsync
// per append) unless said otherwise. Results are in BENCHMARKS.md.

func benchNets(b *testing.B, f func(b *testing.B, opts ...clusterOpt)) {
	b.Run("memnet", func(b *testing.B) { f(b, onDisk) })
	b.Run("tcp", func(b *testing.B) { f(b, onDisk, overTCP) })
}

// benchNetsNoDisk adds a run with the Raft state in memory, which tells
// the cost of the disk from the rest.
func benchNetsNoDisk(b *testing.B, f func(b *testing.B, opts ...clusterOpt)) {
	benchNets(b, f)
	b.Run("memnet-nodisk", func(b *testing.B) { f(b) })
}

// reportLatency reports the median and 99th percentile of ds.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkRegister: one client registering distinct names, durable, on
// the leader and through a follower.
func BenchmarkRegister(b *testing.B) {
	benchNetsNoDisk(b, func(b *testing.B, opts ...clusterOpt) {
		for _, via := range []string{"leader", "follower"} {
			b.Run(via, func(b *testing.B) {
				c := startCluster(b, 3, opts...)
				leader := c.waitLeader(c.names...)
				r := c.reg(leader)
				if via == "follower" {
					r = c.reg(c.followers(leader)[0])
				}
				ctx := context.Background()
				p := ppid(leader, 1)
				ds := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := range b.N {
					start := time.Now()
					if err := r.Register(ctx, fmt.Sprint("n", i), p); err != nil {
						b.Fatal(err)
					}
					ds = append(ds, time.Since(start))
				}
				b.StopTimer()
				reportLatency(b, ds)
			})
		}
	})
}

// BenchmarkRegisterParallel: 64 clients registering distinct names at
// once, spread over the three nodes; ops/s is the throughput.
func BenchmarkRegisterParallel(b *testing.B) {
	benchNetsNoDisk(b, func(b *testing.B, opts ...clusterOpt) {
		for _, spread := range []string{"leader", "all"} {
			b.Run(spread, func(b *testing.B) {
				c := startCluster(b, 3, opts...)
				leader := c.waitLeader(c.names...)
				const clients = 64
				var next atomic.Int64
				var wg sync.WaitGroup
				ctx := context.Background()
				b.ResetTimer()
				start := time.Now()
				for cl := range clients {
					r := c.reg(leader)
					if spread == "all" {
						r = c.reg(c.names[cl%3])
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						p := ppid("n1", uint64(cl+1))
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							if err := r.Register(ctx, fmt.Sprint("p", i), p); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	})
}

// BenchmarkLookup: linearizable lookups by one client, on the leader and
// from a follower (forwarded), and Resolve (local replica) for scale.
func BenchmarkLookup(b *testing.B) {
	benchNets(b, func(b *testing.B, opts ...clusterOpt) {
		c := startCluster(b, 3, opts...)
		leader := c.waitLeader(c.names...)
		ctx := context.Background()
		p := ppid(leader, 1)
		if err := c.reg(leader).Register(ctx, "x", p); err != nil {
			b.Fatal(err)
		}
		f := c.followers(leader)[0]
		c.resolves(f, "x", p)
		for _, via := range []string{"leader", "follower"} {
			b.Run(via, func(b *testing.B) {
				r := c.reg(leader)
				if via == "follower" {
					r = c.reg(f)
				}
				ds := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					if got, err := r.Lookup(ctx, "x"); err != nil || got != p {
						b.Fatal(got, err)
					}
					ds = append(ds, time.Since(start))
				}
				b.StopTimer()
				reportLatency(b, ds)
			})
		}
		// The alternative design for follower reads: ask the leader for
		// its applied index, wait until the local replica has it, read
		// locally. With no writes going on, the replica is already there.
		b.Run("follower-readindex", func(b *testing.B) {
			r := c.reg(f)
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				rep, err := r.read(ctx, request{op: opReadIndex})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.table.waitIndex(ctx, rep.index); err != nil {
					b.Fatal(err)
				}
				if got, ok := r.table.lookup("x"); !ok || got != p {
					b.Fatal(got)
				}
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			reportLatency(b, ds)
		})
		// Both follower designs again while a writer registers names on
		// the leader without pause: the read index then waits for the
		// replica to learn the commit index and apply.
		for _, mode := range []string{"follower-busy", "follower-readindex-busy"} {
			b.Run(mode, func(b *testing.B) {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						_ = c.reg(leader).Register(ctx, fmt.Sprint("busy", i), p)
					}
				}()
				r := c.reg(f)
				ds := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					if mode == "follower-busy" {
						if _, err := r.Lookup(ctx, "x"); err != nil {
							b.Fatal(err)
						}
					} else {
						rep, err := r.read(ctx, request{op: opReadIndex})
						if err == nil {
							err = r.table.waitIndex(ctx, rep.index)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					ds = append(ds, time.Since(start))
				}
				b.StopTimer()
				close(stop)
				wg.Wait()
				reportLatency(b, ds)
			})
		}
		b.Run("follower-parallel", func(b *testing.B) {
			r := c.reg(f)
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.Lookup(ctx, "x"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
		b.Run("resolve", func(b *testing.B) {
			r := c.reg(f)
			for range b.N {
				if _, ok := r.Resolve("x"); !ok {
					b.Fatal("resolve")
				}
			}
		})
	})
}

// BenchmarkFailover: the leader is killed; the time until a register on a
// survivor succeeds (election included). One cluster per iteration: run
// with -benchtime=10x.
func BenchmarkFailover(b *testing.B) {
	benchNets(b, func(b *testing.B, opts ...clusterOpt) {
		ds := make([]time.Duration, 0, b.N)
		for i := range b.N {
			b.StopTimer()
			c := startCluster(b, 3, opts...)
			leader := c.waitLeader(c.names...)
			survivor := c.followers(leader)[0]
			b.StartTimer()
			start := time.Now()
			c.kill(leader)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.reg(survivor).Register(ctx, "after", ppid(survivor, uint64(i+1)))
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
			b.StopTimer()
			c.stopAll()
		}
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(ds[len(ds)-1].Milliseconds()), "max-ms")
	})
}

// BenchmarkLogStore: one StoreLogs of 1 or 64 entries of 200 bytes, the
// write behind each commit on every replica, in raft-wal (the store) and
// in raft-boltdb as versions before it kept the log (bbolt's freelist not
// synced), alone or with two other stores writing at once on the same
// disk, as three replicas in one process do.
func BenchmarkLogStore(b *testing.B) {
	open := map[string]func(b *testing.B) raft.LogStore{
		"wal": func(b *testing.B) raft.LogStore {
			w, err := openWAL(b.TempDir(), segmentSize, quiet)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { w.Close() })
			return w
		},
		"bolt": func(b *testing.B) raft.LogStore {
			bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(b.TempDir(), dbFile),
				BoltOptions: &bbolt.Options{NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { bolt.Close() })
			return bolt
		},
	}
	for _, store := range []string{"wal", "bolt"} {
		for _, stores := range []int{1, 3} {
			for _, n := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/stores=%d/entries=%d", store, stores, n), func(b *testing.B) {
					logs := make([]raft.LogStore, stores)
					for i := range logs {
						logs[i] = open[store](b)
					}
					data := bytes.Repeat([]byte("d"), 200)
					var wg sync.WaitGroup
					ds := make([][]time.Duration, stores)
					b.ResetTimer()
					for i, l := range logs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for j := range b.N {
								batch := make([]*raft.Log, n)
								for k := range batch {
									batch[k] = &raft.Log{Index: uint64(j*n + k + 1), Term: 1, Data: data}
								}
								start := time.Now()
								if err := l.StoreLogs(batch); err != nil {
									b.Error(err)
									return
								}
								ds[i] = append(ds[i], time.Since(start))
							}
						}()
					}
					wg.Wait()
					b.StopTimer()
					reportLatency(b, slices.Concat(ds...))
				})
			}
		}
	}
}
