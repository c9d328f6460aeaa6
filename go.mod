module github.com/wippyd/wippyd

go 1.26.8

require (
	github.com/anishathalye/porcupine v1.3.1
	// Tests only: node's TestObserverInBrowser drives headless Chromium.
	github.com/chromedp/chromedp v0.24.0
	github.com/expr-lang/expr v1.18.0
	github.com/fsnotify/fsnotify v1.10.1
	github.com/hashicorp/go-hclog v1.6.3
	github.com/hashicorp/memberlist v0.7.0
	github.com/hashicorp/raft v1.8.0
	// Only to migrate the raft.db of versions before raft-wal (raftreg's
	// layout.go). v2.3.1 needs a go-metrics that raft v1.8.0 does not
	// build with.
	github.com/hashicorp/raft-boltdb/v2 v2.3.0
	// The Raft log and stable store. v0.4.0, the release this module
	// resolves, has bugs raftreg works around (its doc.go, "# Raft");
	// check those against a newer one before moving.
	github.com/hashicorp/raft-wal v0.4.0
	github.com/prometheus/client_golang v1.25.0
	github.com/vmihailenco/msgpack/v5 v5.4.1
	// Pinned: runtime/lua/frame.go reads gopher-lua's unexported call frames;
	// a test fails on any other version until frame.go is checked against it.
	github.com/yuin/gopher-lua v1.1.2
	// Above raft-boltdb's v1.3.5 (and raft-wal's v1.3.6): a damaged file
	// panics at open in the caller's goroutine (recoverable) instead of
	// one of bbolt's own.
	go.etcd.io/bbolt v1.5.0
	go.uber.org/goleak v1.3.0
	// The directory lock on Windows (raftreg's lock_windows.go).
	golang.org/x/sys v0.48.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/armon/go-metrics v0.4.1 // indirect
	github.com/benbjohnson/immutable v0.4.0 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/boltdb/bolt v1.3.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/coreos/etcd v3.3.27+incompatible // indirect
	github.com/coreos/go-systemd v0.0.0-20191104093116-d3cd4ed1dbcf // indirect
	github.com/coreos/pkg v0.0.0-20220810130054-c7d1c02cb6cf // indirect
	github.com/fatih/color v1.13.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-metrics v0.7.0 // indirect
	github.com/hashicorp/go-msgpack/v2 v2.1.5 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hashicorp/go-sockaddr v1.0.7 // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/miekg/dns v1.1.73 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/sean-/seed v0.0.0-20170313163322-e2103e2c3529 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/exp v0.0.0-20220827204233-334a2380cb91 // indirect
	golang.org/x/net v0.59.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
