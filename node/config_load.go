package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/wippyd/wippyd/runtime/entry"
)

// LoadOptions says where LoadConfig reads settings from. Precedence:
// defaults < File < Env < Set.
type LoadOptions struct {
	// File is a YAML config file; "" = none.
	File string
	// Env is the environment as os.Environ gives it. Every WIPPY_* variable
	// must name a setting (WIPPY_CLUSTER_RAFT_DATA_DIR) or an env value
	// (WIPPY_ENV_<NAME>); other variables are ignored.
	Env []string
	// Set are "key=value" overrides (--set), applied in order.
	Set []string
	// OneShot is for `run -x`: the admin endpoint is off unless a file,
	// variable or --set gives admin.addr, and the log level is warn (the
	// program's own output is what matters) unless one gives log.level.
	OneShot bool
}

// DefaultConfigFile is the config file read when none is named, if the
// working directory has it (Wippy's default).
const DefaultConfigFile = ".wippy.yaml"

// ConfigFile returns the config file to read: file when given, else
// DefaultConfigFile when the working directory has one (or when it cannot
// tell: reading it then says why), else "" (none).
func ConfigFile(file string) string {
	if file != "" {
		return file
	}
	if _, err := os.Lstat(DefaultConfigFile); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return DefaultConfigFile
}

// setting is one config key and the field it sets.
type setting struct {
	key    string
	field  func(*Config) any // pointer to the field
	enum   []string          // allowed values of a string setting
	secret bool              // never echo the value
}

// wippySections are the top-level sections of Wippy's configuration that
// wippyd has no use for: a .wippy.yaml holding them loads, with one warning
// for each (the node logs Config.ignored at start).
var wippySections = []string{"version", "vars", "override", "disable", "profiles", "logger", "logmanager",
	"profiler", "registry", "relay", "supervisor", "lua", "finder", "otel", "shutdown", "metrics",
	"prometheus", "lsp", "network_service", "dispatcher", "modules", "extensions"}

// settings lists every key but the env.NAME family, in documentation order.
var settings = []setting{
	{key: "node.name", field: func(c *Config) any { return &c.Node.Name }},
	{key: "node.workers", field: func(c *Config) any { return &c.Node.Workers }},
	{key: "node.watch", field: func(c *Config) any { return &c.Node.Watch }},
	{key: "security.strict_mode", field: func(c *Config) any { return &c.Security.StrictMode }},
	{key: "log.level", field: func(c *Config) any { return &c.Log.Level }, enum: logLevels},
	{key: "log.format", field: func(c *Config) any { return &c.Log.Format }, enum: logFormats},
	{key: "admin.addr", field: func(c *Config) any { return &c.Admin.Addr }},
	{key: "admin.token", field: func(c *Config) any { return &c.Admin.Token }, secret: true},
	{key: "admin.token_file", field: func(c *Config) any { return &c.Admin.TokenFile }},
	{key: "cluster.enabled", field: func(c *Config) any { return &c.Cluster.Enabled }},
	// cluster.name is Wippy's key for the node's name: the same field as
	// node.name (LoadConfig refuses both given with different values).
	{key: "cluster.name", field: func(c *Config) any { return &c.Node.Name }},
	{key: "cluster.label", field: func(c *Config) any { return &c.Cluster.Label }},
	{key: "cluster.insecure", field: func(c *Config) any { return &c.Cluster.Insecure }},
	{key: "cluster.failure_domain", field: func(c *Config) any { return &c.Cluster.FailureDomain }},
	{key: "cluster.membership.bind_addr", field: func(c *Config) any { return &c.Cluster.Membership.BindAddr }},
	{key: "cluster.membership.bind_port", field: func(c *Config) any { return &c.Cluster.Membership.BindPort }},
	{key: "cluster.membership.advertise_addr", field: func(c *Config) any { return &c.Cluster.Membership.AdvertiseAddr }},
	{key: "cluster.membership.join_addrs", field: func(c *Config) any { return &c.Cluster.Membership.JoinAddrs }},
	{key: "cluster.membership.profile", field: func(c *Config) any { return &c.Cluster.Membership.Profile }, enum: profiles},
	{key: "cluster.membership.secret_key", field: func(c *Config) any { return &c.Cluster.Membership.SecretKey }, secret: true},
	{key: "cluster.membership.secret_file", field: func(c *Config) any { return &c.Cluster.Membership.SecretFile }},
	{key: "cluster.membership.gossip_interval", field: func(c *Config) any { return &c.Cluster.Membership.GossipInterval }},
	{key: "cluster.membership.push_pull_interval", field: func(c *Config) any { return &c.Cluster.Membership.PushPullInterval }},
	{key: "cluster.membership.dead_node_reclaim_time", field: func(c *Config) any { return &c.Cluster.Membership.DeadNodeReclaimTime }},
	{key: "cluster.membership.probe_interval", field: func(c *Config) any { return &c.Cluster.Membership.ProbeInterval }},
	{key: "cluster.membership.probe_timeout", field: func(c *Config) any { return &c.Cluster.Membership.ProbeTimeout }},
	{key: "cluster.membership.tcp_timeout", field: func(c *Config) any { return &c.Cluster.Membership.TCPTimeout }},
	{key: "cluster.membership.suspicion_mult", field: func(c *Config) any { return &c.Cluster.Membership.SuspicionMult }},
	{key: "cluster.internode.bind_addr", field: func(c *Config) any { return &c.Cluster.Internode.BindAddr }},
	{key: "cluster.internode.bind_port", field: func(c *Config) any { return &c.Cluster.Internode.Port }},
	{key: "cluster.internode.auto_port", field: func(c *Config) any { return &c.Cluster.Internode.AutoPort }},
	{key: "cluster.internode.advertise_addr", field: func(c *Config) any { return &c.Cluster.Internode.AdvertiseAddr }},
	{key: "cluster.internode.advertise_port", field: func(c *Config) any { return &c.Cluster.Internode.AdvertisePort }},
	{key: "cluster.internode.max_frame", field: func(c *Config) any { return &c.Cluster.Internode.MaxFrame }},
	{key: "cluster.internode.send_queue_bytes", field: func(c *Config) any { return &c.Cluster.Internode.SendQueueBytes }},
	{key: "cluster.internode.one_way", field: func(c *Config) any { return &c.Cluster.Internode.OneWay }},
	{key: "cluster.raft.enabled", field: func(c *Config) any { return &c.Cluster.Raft.Enabled }},
	{key: "cluster.raft.role", field: func(c *Config) any { return &c.Cluster.Raft.Role }, enum: raftRoles},
	{key: "cluster.raft.eligible", field: func(c *Config) any { return &c.Cluster.Raft.Eligible }},
	{key: "cluster.raft.priority", field: func(c *Config) any { return &c.Cluster.Raft.Priority }},
	{key: "cluster.raft.data_dir", field: func(c *Config) any { return &c.Cluster.Raft.DataDir }},
	{key: "cluster.raft.bootstrap_expect", field: func(c *Config) any { return &c.Cluster.Raft.BootstrapExpect }},
	{key: "cluster.raft.max_voters", field: func(c *Config) any { return &c.Cluster.Raft.MaxVoters }},
	{key: "cluster.raft.max_standbys", field: func(c *Config) any { return &c.Cluster.Raft.MaxStandbys }},
	{key: "cluster.raft.reconcile_debounce", field: func(c *Config) any { return &c.Cluster.Raft.ReconcileDebounce }},
	{key: "cluster.raft.reconcile_timeout", field: func(c *Config) any { return &c.Cluster.Raft.ReconcileTimeout }},
	{key: "cluster.raft.heartbeat_timeout", field: func(c *Config) any { return &c.Cluster.Raft.HeartbeatTimeout }},
	{key: "cluster.raft.election_timeout", field: func(c *Config) any { return &c.Cluster.Raft.ElectionTimeout }},
	{key: "cluster.raft.commit_timeout", field: func(c *Config) any { return &c.Cluster.Raft.CommitTimeout }},
	{key: "cluster.raft.snapshot_threshold", field: func(c *Config) any { return &c.Cluster.Raft.SnapshotThreshold }},
	{key: "cluster.raft.snapshot_interval", field: func(c *Config) any { return &c.Cluster.Raft.SnapshotInterval }},
	{key: "cluster.raft.snapshot_retain", field: func(c *Config) any { return &c.Cluster.Raft.SnapshotRetain }},
	{key: "cluster.raft.trailing_logs", field: func(c *Config) any { return &c.Cluster.Raft.TrailingLogs }},
	{key: "cluster.raft.max_append_entries", field: func(c *Config) any { return &c.Cluster.Raft.MaxAppendEntries }},
	{key: "cluster.raft.leader_probe_interval", field: func(c *Config) any { return &c.Cluster.Raft.LeaderProbeInterval }},
	{key: "cluster.raft.leader_probe_grace", field: func(c *Config) any { return &c.Cluster.Raft.LeaderProbeGrace }},
	{key: "cluster.raft.apply_timeout", field: func(c *Config) any { return &c.Cluster.Raft.ApplyTimeout }},
}

// envKey is the family of env values: env.NAME, WIPPY_ENV_NAME.
const envKey = "env"

// sections are the mappings of a config file that hold settings.
var sections = []string{"node", "security", "log", "admin", "cluster",
	"cluster.membership", "cluster.internode", "cluster.raft"}

// Keys lists every config key in documentation order; "env.*" stands for
// the env.NAME family.
func Keys() []string {
	keys := make([]string, 0, len(settings)+1)
	for _, s := range settings {
		keys = append(keys, s.key)
	}
	return append(keys, envKey+".*")
}

// EnvName returns the environment variable that sets key, e.g.
// WIPPY_CLUSTER_MEMBERSHIP_BIND_ADDR; env.NAME gives WIPPY_ENV_NAME.
func EnvName(key string) string {
	if name, ok := strings.CutPrefix(key, envKey+"."); ok {
		return "WIPPY_ENV_" + name
	}
	return "WIPPY_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func lookup(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// renamed maps keys that wippyd had under another name to the key that
// replaced them, so an old config fails with the new name instead of a
// guess.
var renamed = map[string]string{
	"cluster.internode.port": "cluster.internode.bind_port",
}

// origin is a key's value as a source gave it; line is its line in the
// config file (0 for the environment and --set).
type origin struct {
	value string
	line  int
}

// keyError is an unknown key, with where it came from.
type keyError struct {
	source  string // e.g. "config.yaml:3", "environment", "--set"
	key     string
	hint    string
	renamed string // the key that replaced key
}

// unknownKey describes key, unknown at source; env tells that key is a
// WIPPY_* variable name.
func unknownKey(source, key string, candidates []string, env bool) *keyError {
	for old, now := range renamed {
		if key == old || (env && key == EnvName(old)) {
			if env {
				now = EnvName(now)
			}
			return &keyError{source: source, key: key, renamed: now}
		}
	}
	return &keyError{source: source, key: key, hint: suggest(key, candidates)}
}

func (e *keyError) Error() string {
	msg := e.source + ": unknown key " + printable(e.key)
	switch {
	case e.renamed != "":
		msg += " (renamed: it is " + e.renamed + " now)"
	case e.hint != "":
		msg += " (did you mean " + e.hint + "?)"
	}
	return msg
}

func (e *keyError) Is(target error) bool { return target == ErrUnknownKey }

// LoadConfig builds a Config from the defaults, then opts.File, then the
// WIPPY_* variables of opts.Env, then opts.Set, and validates it. All
// problems are reported together, wrapped in ErrBadConfig; unknown keys
// also match ErrUnknownKey.
func LoadConfig(opts LoadOptions) (Config, error) {
	c := DefaultConfig()
	if opts.OneShot {
		c.Admin.Addr = ""
		c.Log.Level = "warn"
	}
	var errs []error
	// node.name and cluster.name are one setting: a source giving both
	// with different values (an old file, where cluster.name was the
	// label) is an error; across sources the usual precedence holds.
	sameName := func(source string, given map[string]origin) {
		a, okA := given["node.name"]
		b, okB := given["cluster.name"]
		if okA && okB && a.value != b.value {
			errs = append(errs, fmt.Errorf("%s: cluster.name is %q and node.name %q: both are this node's name "+
				"(cluster.name names the node, as in Wippy; the cluster label it was is cluster.label now)", source, b.value, a.value))
		}
	}
	fromFile := map[string]origin{}
	if opts.File != "" {
		data, err := readConfigFile(opts.File, maxConfigFile)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s: %w", ErrBadConfig, opts.File, err)
		}
		errs = append(errs, loadFile(&c, opts.File, data, fromFile)...)
		sameName(opts.File, fromFile)
	}
	fromEnv := map[string]origin{}
	errs = append(errs, loadEnv(&c, opts.Env, fromEnv)...)
	sameName("environment", fromEnv)
	fromSet := map[string]origin{}
	errs = append(errs, loadSet(&c, opts.Set, fromSet)...)
	sameName("--set", fromSet)
	// A problem with a key whose value came from the file names the line.
	for _, err := range c.problems() {
		key, _, _ := strings.Cut(err.Error(), ": ")
		o, inFile := fromFile[key]
		_, inEnv := fromEnv[key]
		_, inSet := fromSet[key]
		if inFile && !inEnv && !inSet {
			err = fmt.Errorf("%s:%d: %w", opts.File, o.line, err)
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("%w:\n%w", ErrBadConfig, errors.Join(errs...))
	}
	return c, nil
}

// Bounds of the files settings come from: a node's config is a few KiB, a
// secret a few dozen bytes.
const (
	maxConfigFile = 1 << 20
	maxSecretFile = 64 << 10
)

// readConfigFile reads a file the config names (the config file itself, a
// secret file): a regular file (symbolic links are followed) of at most
// limit bytes. A device (/dev/zero), a named pipe or a directory is
// refused instead of read forever.
func readConfigFile(name string, limit int64) ([]byte, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	data, err := entry.ReadFile(os.DirFS(filepath.Dir(abs)), filepath.Base(abs), limit)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already in the message
	}
	return data, err
}

// set parses text into s's field of c.
func (s setting) set(c *Config, text string) error {
	show := strconv.Quote(text)
	if s.secret {
		show = "(hidden)"
	}
	switch p := s.field(c).(type) {
	case *string:
		if s.enum != nil {
			if err := checkEnum(text, s.enum); err != nil {
				return err
			}
		}
		*p = text
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("want an integer, got %s", show)
		}
		*p = n
	case *uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return fmt.Errorf("want a non-negative integer, got %s", show)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("want true or false, got %s", show)
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("bad duration %s (Go syntax: 150ms, 5s, 1m30s)", show)
		}
		*p = d
	case *Size:
		n, err := ParseSize(text)
		if err != nil {
			return err
		}
		*p = n
	case *[]string:
		*p = splitList(text)
	default:
		panic("node: setting " + s.key + " has an unsupported type")
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(text string) []string {
	out := []string{}
	for _, item := range strings.Split(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func setEnv(c *Config, name, value string) error {
	if err := checkEnvName(name); err != nil {
		return err
	}
	if c.Env == nil {
		c.Env = map[string]string{}
	}
	c.Env[name] = value
	return nil
}

func loadEnv(c *Config, environ []string, given map[string]origin) []error {
	byName := map[string]setting{}
	for _, s := range settings {
		byName[EnvName(s.key)] = s
	}
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "WIPPY_") {
			continue
		}
		source := "environment " + name
		if envName, ok := strings.CutPrefix(name, "WIPPY_ENV_"); ok {
			if err := setEnv(c, envName, value); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
			}
			continue
		}
		s, ok := byName[name]
		if !ok {
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			slices.Sort(names)
			errs = append(errs, unknownKey("environment", name, names, true))
			continue
		}
		if err := s.set(c, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", source, s.key, err))
		} else {
			given[s.key] = origin{value: value}
		}
	}
	return errs
}

func loadSet(c *Config, sets []string, given map[string]origin) []error {
	var errs []error
	for _, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--set %q: want key=value", kv))
			continue
		}
		source := "--set " + key
		if name, ok := strings.CutPrefix(key, envKey+"."); ok {
			if err := setEnv(c, name, value); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
			}
			continue
		}
		s, ok := lookup(key)
		if !ok {
			errs = append(errs, unknownKey("--set", key, Keys(), false))
			continue
		}
		if err := s.set(c, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
		} else {
			given[s.key] = origin{value: value}
		}
	}
	return errs
}

// fileLoader applies a YAML config file.
type fileLoader struct {
	c      *Config
	given  map[string]origin // key: value, of every key set
	file   string
	errs   []error
	budget int // YAML nodes left to visit
}

// maxConfigNodes bounds the YAML nodes a config file may make the loader
// visit. Merge keys ("<<") let a small file name the same mapping again and
// again, exponentially; a real config visits a few hundred.
const maxConfigNodes = 100_000

func loadFile(c *Config, file string, data []byte, given map[string]origin) []error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return []error{badYAML(file, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return []error{fmt.Errorf("%s:%d: a second YAML document: a config file holds one (no ---)", file, max(next.Line, 1))}
	case !errors.Is(err, io.EOF):
		return []error{badYAML(file, err)}
	}
	root := deref(&doc)
	if root == nil || root.Kind == 0 || root.Kind == yaml.DocumentNode || isNull(root) {
		return nil // an empty file
	}
	l := &fileLoader{c: c, file: file, budget: maxConfigNodes, given: given}
	l.mapping(root, "", 0)
	return l.errs
}

func badYAML(file string, err error) error {
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "\n", "; ")
	return fmt.Errorf("%s: bad YAML: %s", file, msg)
}

// spend charges n visited nodes; once the budget is gone it reports that
// (once) and returns false.
func (l *fileLoader) spend(n, line int) bool {
	if l.budget < 0 {
		return false
	}
	if l.budget -= n; l.budget < 0 {
		l.errorf(line, "the file expands to more than %d YAML nodes through merge keys", maxConfigNodes)
		return false
	}
	return true
}

func (l *fileLoader) errorf(line int, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s:%d: %s", l.file, line, fmt.Sprintf(format, args...)))
}

// deref follows aliases and document nodes; nil for a cycle.
func deref(n *yaml.Node) *yaml.Node {
	for range 64 {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// mapping applies the keys of the mapping at prefix. Keys brought in by a
// merge key ("<<") apply first, so the mapping's own keys win.
func (l *fileLoader) mapping(n *yaml.Node, prefix string, depth int) {
	name := prefix
	if name == "" {
		name = "the file"
	}
	if n == nil {
		l.errorf(0, "%s: alias cycle", name)
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "%s: want a mapping", name)
		return
	}
	if depth > 16 {
		l.errorf(n.Line, "%s: nested too deep", name)
		return
	}
	if !l.spend(len(n.Content)/2+1, n.Line) {
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.ShortTag() == "!!merge" {
			for _, m := range mergeSources(n.Content[i+1]) {
				l.mapping(m, prefix, depth+1)
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.ShortTag() == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode || v == nil {
			l.errorf(k.Line, "%s: keys must be strings", name)
			continue
		}
		if seen[k.Value] {
			l.errorf(k.Line, "duplicate key %s", printable(join(prefix, k.Value)))
			continue
		}
		seen[k.Value] = true
		l.key(join(prefix, k.Value), k.Line, v, depth)
	}
}

func mergeSources(v *yaml.Node) []*yaml.Node {
	d := deref(v)
	if d != nil && d.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, item := range d.Content {
			out = append(out, deref(item))
		}
		return out
	}
	return []*yaml.Node{d}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (l *fileLoader) key(key string, line int, v *yaml.Node, depth int) {
	switch {
	case key == envKey:
		if !isNull(v) {
			l.env(v, depth)
		}
		return
	case slices.Contains(sections, key):
		if !isNull(v) {
			l.mapping(v, key, depth+1)
		}
		return
	case slices.Contains(wippySections, key):
		l.c.ignored = append(l.c.ignored, fmt.Sprintf("%s:%d: %s: a section of Wippy's configuration that wippyd does not use; ignored", l.file, line, key))
		return
	}
	s, ok := lookup(key)
	if !ok {
		l.errs = append(l.errs, unknownKey(fmt.Sprintf("%s:%d", l.file, line), key, append(Keys(), sections...), false))
		return
	}
	var text string
	switch {
	case v.Kind == yaml.SequenceNode:
		if _, isList := s.field(l.c).(*[]string); !isList {
			l.errorf(line, "%s: want a single value, got a list", key)
			return
		}
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			d := deref(item)
			if d == nil || d.Kind != yaml.ScalarNode || isNull(d) {
				l.errorf(item.Line, "%s: list items must be strings", key)
				return
			}
			items = append(items, d.Value)
		}
		*s.field(l.c).(*[]string) = items
		l.given[key] = origin{value: strings.Join(items, ","), line: line}
		return
	case v.Kind != yaml.ScalarNode:
		l.errorf(line, "%s: want a single value, got a mapping", key)
		return
	case !isNull(v):
		text = v.Value
	}
	if err := s.set(l.c, text); err != nil {
		l.errorf(line, "%s: %v", key, err)
	} else {
		l.given[key] = origin{value: text, line: line}
	}
}

func (l *fileLoader) env(v *yaml.Node, depth int) {
	if v.Kind != yaml.MappingNode {
		l.errorf(v.Line, "env: want a mapping of NAME: value")
		return
	}
	if !l.spend(len(v.Content)/2+1, v.Line) {
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if k.ShortTag() == "!!merge" {
			for _, m := range mergeSources(val) {
				if m != nil && depth < 16 {
					l.env(m, depth+1)
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode || val == nil || val.Kind != yaml.ScalarNode {
			l.errorf(k.Line, "env.%s: want NAME: value", printable(k.Value))
			continue
		}
		value := val.Value
		if isNull(val) {
			value = ""
		}
		if err := setEnv(l.c, k.Value, value); err != nil {
			l.errorf(k.Line, "env: %v", err)
		}
	}
}

// printable quotes s when it holds control characters, so that every
// problem stays on one line.
func printable(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// suggest returns the key closest to s when it is a likely typo.
func suggest(s string, candidates []string) string { return entry.Suggest(s, candidates, 4) }
