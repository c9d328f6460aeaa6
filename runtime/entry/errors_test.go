package entry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// loadProblems loads files and returns the problems as printed.
func loadProblems(t *testing.T, files map[string]string) []string {
	t.Helper()
	r, err := LoadFS(tree(files), ".", compileLua)
	if err == nil {
		t.Fatalf("load succeeded with %d entries, want problems", len(r.All()))
	}
	var le *LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v, want *LoadErrors", err, err)
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, problemStrings(le.Problems)) {
		t.Errorf("Error() = %q, want one line per problem", err.Error())
	}
	return problemStrings(le.Problems)
}

const head = "version: \"1.0\"\nnamespace: app\nentries:\n"

// Shared fixtures: line 4 is the first entry.
const (
	hostEntry = "  - {name: h, kind: process.host}\n"
	procEntry = "  - {name: p, kind: process.lua, source: file://p.lua}\n"
)

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "bad yaml",
			files: map[string]string{"a.yaml": head + "  - name: x\n    kind: [\n"},
			want:  []string{"a.yaml:5: bad YAML: did not find expected node content"},
		},
		{
			name:  "not a mapping",
			files: map[string]string{"a.yaml": "- 1\n- 2\n"},
			want:  []string{"a.yaml:1: want a mapping, got a list"},
		},
		{
			name:  "file fields",
			files: map[string]string{"a.yaml": "version: 2\nnamspace: app\nentries: {}\n"},
			want: []string{
				"a.yaml:1: missing required field namespace",
				"a.yaml:1: unsupported version \"2\", want \"1.0\"",
				"a.yaml:2: unknown field namspace (did you mean namespace?)",
				"a.yaml:3: entries: want a list, got a mapping",
			},
		},
		{
			name:  "missing name and kind",
			files: map[string]string{"a.yaml": head + "  - kind: process.lua\n  - name: x\n  - name: 'a b'\n    kind: env.variable\n"},
			want: []string{
				"a.yaml:4: missing required field name",
				"a.yaml:5: app:x: missing required field kind",
				"a.yaml:6: bad entry name \"a b\" (letters, digits, '_', '-', '.')",
			},
		},
		{
			name: "missing kind fields",
			files: map[string]string{"a.yaml": head +
				"  - {name: l, kind: process.lua}\n" +
				"  - {name: s, kind: process.service}\n" +
				"  - {name: pol, kind: security.policy}\n" +
				"  - {name: pol2, kind: security.policy, policy: {}}\n" +
				"  - {name: e, kind: env.variable}\n"},
			want: []string{
				"a.yaml:4: app:l: missing required field source",
				"a.yaml:5: app:s: missing required field host",
				"a.yaml:5: app:s: missing required field process",
				"a.yaml:6: app:pol: missing required field policy",
				"a.yaml:7: app:pol2: missing required field policy.actions",
				"a.yaml:7: app:pol2: missing required field policy.effect",
				"a.yaml:7: app:pol2: missing required field policy.resources",
				"a.yaml:8: app:e: needs variable, default, or both",
			},
		},
		{
			name: "unknown fields",
			files: map[string]string{"a.yaml": head +
				"  - name: h\n    kind: process.host\n    lifecycle: {auto_strat: true}\n    host: {wokers: 1}\n    hide_logs: true\n" +
				"  - {name: p, kind: process.lua, source: file://p.lua, moduls: [x], zzz: 1}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:h: unknown field lifecycle.auto_strat (did you mean auto_start?)",
				"a.yaml:7: app:h: unknown field host.wokers (did you mean workers?)",
				"a.yaml:8: app:h: unknown field hide_logs",
				"a.yaml:9: app:p: unknown field moduls (did you mean modules?)",
				"a.yaml:9: app:p: unknown field zzz",
			},
		},
		{
			name: "wrong types",
			files: map[string]string{"a.yaml": head +
				"  - name: h\n    kind: process.host\n    lifecycle: {auto_start: \"yes\"}\n    host: {workers: many, max_mailbox: 1.5, max_memory: [1]}\n    security: [x]\n" +
				"  - {name: p, kind: process.lua, source: file://p.lua, modules: json, imports: [a]}\n" +
				"  - {name: s, kind: process.service, process: p, host: h, input: {a: 1}, lifecycle: {restart: {jitter: high}}}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:h: lifecycle.auto_start: want true or false, got string \"yes\"",
				"a.yaml:7: app:h: host.max_mailbox: want an integer, got float 1.5",
				"a.yaml:7: app:h: host.max_memory: want a size, got a list",
				"a.yaml:7: app:h: host.workers: want an integer, got string \"many\"",
				"a.yaml:8: app:h: security: want a mapping, got a list",
				"a.yaml:9: app:p: imports: want a mapping, got a list",
				"a.yaml:9: app:p: modules: want a list of strings, got string \"json\"",
				"a.yaml:10: app:s: input: want a list, got a mapping",
				"a.yaml:10: app:s: lifecycle.restart.jitter: want a number, got string \"high\"",
			},
		},
		{
			name: "durations and limits",
			files: map[string]string{"a.yaml": head +
				"  - name: h\n    kind: process.host\n    host: {cancel_timeout: -1s, queue_size: -3, max_processes: 5, max_memory: 64MB}\n" +
				procEntry +
				"  - name: s\n    kind: process.service\n    process: p\n    host: h\n    lifecycle:\n" +
				"      start_timeout: 0\n      stop_timeout: 5\n      stable_threshold: soon\n" +
				"      restart: {delay: -1s, max_delay: 1m, backoff_factor: 0.5, jitter: 2, max_attempts: -1}\n" +
				"  - name: s2\n    kind: process.service\n    process: p\n    host: h\n    lifecycle:\n" +
				"      restart: {initial_delay: 2m, max_delay: 1m}\n" +
				"  - {name: big, kind: process.host, host: {workers: 100000, local_queue_size: 1000000}}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:h: host.cancel_timeout: must not be negative, got -1s",
				"a.yaml:6: app:h: host.max_memory: bad size \"64MB\" (want bytes, or a number with KiB, MiB or GiB)",
				"a.yaml:6: app:h: host.queue_size: must be between 0 and 2147483647, got -3",
				"a.yaml:13: app:s: lifecycle.start_timeout: must be positive",
				"a.yaml:14: app:s: lifecycle.stop_timeout: duration 5 needs a unit, e.g. 5s",
				"a.yaml:15: app:s: lifecycle.stable_threshold: bad duration \"soon\" (want Go syntax, e.g. 150ms, 5s, 1m30s)",
				"a.yaml:16: app:s: lifecycle.restart.backoff_factor: must be at least 1, got 0.5",
				"a.yaml:16: app:s: lifecycle.restart.delay: must not be negative, got -1s",
				"a.yaml:16: app:s: lifecycle.restart.jitter: must be between 0 and 1, got 2",
				"a.yaml:16: app:s: lifecycle.restart.max_attempts: must be between 0 and 2147483647, got -1",
				"a.yaml:22: app:s2: lifecycle.restart: max_delay 1m0s is less than initial_delay 2m0s",
				"a.yaml:23: app:big: host.local_queue_size: must be between 0 and 4096, got 1000000",
				"a.yaml:23: app:big: host.workers: must be between 0 and 1024, got 100000",
			},
		},
		{
			name: "policy values",
			files: map[string]string{"a.yaml": head +
				"  - name: pol\n    kind: security.policy\n    policy:\n      actions: []\n      resources: [\"*\"]\n      effect: permit\n      conditions:\n" +
				"        - {field: actor.id, operator: like, value: x}\n" +
				"        - {field: resource, operator: matches, value: \"a(\"}\n" +
				"        - {field: actor.name, operator: eq, value: x}\n" +
				"        - {field: action, operator: in, value: x}\n" +
				"        - {field: action, operator: eq}\n" +
				"        - {field: action, operator: eq, value: x, value_from: resource}\n" +
				"        - {field: action, operator: eq, value_from: actor}\n" +
				"        - {field: action, operator: matches, value: 3}\n" +
				"        - not-a-mapping\n" +
				"        - {field: resource, operator: nmatches, value: \"^api:/v[0-9+\"}\n" +
				"        - {field: meta.owner, operator: exists, value: yes-please}\n" +
				"        - {field: meta.owner, operator: nexists, value_from: actor.id}\n" +
				"        - {field: meta.status, operator: nin, value: deleted}\n" +
				"        - {field: meta.owner, operator: exists}\n" +
				"        - {field: resource, operator: ncontains, value: public}\n"},
			want: []string{
				"a.yaml:7: app:pol: policy.actions: must not be empty",
				"a.yaml:9: app:pol: policy.effect: unknown effect \"permit\" (want allow or deny)",
				"a.yaml:11: app:pol: policy.conditions[0].operator: unknown operator \"like\" (want eq, ne, lt, lte, gt, gte, in, nin, exists, nexists, contains, ncontains, matches, nmatches)",
				"a.yaml:12: app:pol: policy.conditions[1].value: bad regular expression: error parsing regexp: missing closing ): `a(`",
				"a.yaml:13: app:pol: policy.conditions[2].field: unknown field \"actor.name\" (want actor.id, actor.meta.*, action, resource or meta.*)",
				"a.yaml:14: app:pol: policy.conditions[3].value: operator in wants a list",
				"a.yaml:15: app:pol: policy.conditions[4]: missing value or value_from",
				"a.yaml:16: app:pol: policy.conditions[5]: give value or value_from, not both",
				"a.yaml:17: app:pol: policy.conditions[6].value_from: unknown field \"actor\" (want actor.id, actor.meta.*, action, resource or meta.*)",
				"a.yaml:18: app:pol: policy.conditions[7].value: operator matches wants a regular expression string",
				"a.yaml:19: app:pol: policy.conditions[8]: want a mapping, got string \"not-a-mapping\"",
				"a.yaml:20: app:pol: policy.conditions[9].value: bad regular expression: error parsing regexp: missing closing ]: `[0-9+`",
				"a.yaml:21: app:pol: policy.conditions[10].value: operator exists wants true or false",
				"a.yaml:22: app:pol: policy.conditions[11].value_from: operator nexists takes no value_from",
				"a.yaml:23: app:pol: policy.conditions[12].value: operator nin wants a list",
			},
		},
		{
			// What only compiling finds is reported at load too, one
			// line per problem.
			name: "policy that does not compile",
			files: map[string]string{"a.yaml": head +
				"  - name: pol\n    kind: security.policy\n    policy:\n      actions: [\"process.*.send\"]\n      resources: [\"*\"]\n      effect: deny\n      conditions:\n" +
				"        - {field: action, operator: in, value: [[a]]}\n" +
				"        - {field: action, operator: nin, value: [a, {b: c}]}\n"},
			want: []string{
				"a.yaml:4: app:pol: policy: security: invalid policy: app:pol: condition 1: in: element 1 is not a scalar ([]interface {})",
				"a.yaml:4: app:pol: policy: security: invalid policy: app:pol: condition 2: nin: element 2 is not a scalar (map[string]interface {})",
			},
		},
		{
			name: "dangling references",
			files: map[string]string{"a.yaml": head + hostEntry + procEntry +
				"  - {name: q, kind: process.lua, source: file://p.lua, imports: {x: nope, y: p, z: 'bad ref'}}\n" +
				"  - name: s\n    kind: process.service\n    process: lib\n    host: other:h\n" +
				"    lifecycle: {requires: [h, s9], security: {policies: [pol], groups: [ghost]}}\n" +
				"  - {name: h2, kind: process.host, security: {policies: [h]}}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:q: imports.x: no entry app:nope",
				"a.yaml:6: app:q: imports.y: app:p is a process.lua, want library.lua",
				"a.yaml:6: app:q: imports.z: bad entry reference \"bad ref\" (want name or namespace:name)",
				"a.yaml:9: app:s: process: no entry app:lib",
				"a.yaml:10: app:s: host: no entry other:h",
				"a.yaml:11: app:s: lifecycle.requires[0]: app:h is a process.host, want process.service",
				"a.yaml:11: app:s: lifecycle.requires[1]: no entry app:s9",
				"a.yaml:11: app:s: lifecycle.security.groups[0]: no security.policy is in group \"ghost\"",
				"a.yaml:11: app:s: lifecycle.security.policies[0]: no entry app:pol",
				"a.yaml:12: app:h2: security.policies[0]: app:h is a process.host, want security.policy or security.policy.expr",
			},
		},
		{
			name: "cycles",
			files: map[string]string{"a.yaml": head + hostEntry + procEntry +
				"  - {name: s1, kind: process.service, process: p, host: h, lifecycle: {requires: [s2]}}\n" +
				"  - {name: s2, kind: process.service, process: p, host: h, lifecycle: {depends_on: [s3]}}\n" +
				"  - {name: s3, kind: process.service, process: p, host: h, lifecycle: {requires: [s1]}}\n" +
				"  - {name: self, kind: process.service, process: p, host: h, lifecycle: {requires: [self]}}\n" +
				"  - {name: la, kind: library.lua, source: file://p.lua, imports: {b: lb}}\n" +
				"  - {name: lb, kind: library.lua, source: file://p.lua, imports: {a: la}}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:s1: requires cycle: app:s1 -> app:s2 -> app:s3 -> app:s1",
				"a.yaml:9: app:self: requires cycle: app:self -> app:self",
				"a.yaml:10: app:la: imports cycle: app:la -> app:lb -> app:la",
			},
		},
		{
			name: "duplicates",
			files: map[string]string{
				"a.yaml":     head + hostEntry,
				"sub/b.yaml": head + "  - {name: x, kind: env.variable, default: 1}\n" + hostEntry,
				"sub/c.yml":  head + "  - {name: x, kind: http.service}\n",
			},
			want: []string{
				"sub/b.yaml:5: app:h: duplicate id, first defined at a.yaml:4",
				"sub/c.yml:4: app:x: duplicate id, first defined at sub/b.yaml:4",
			},
		},
		{
			name: "sources",
			files: map[string]string{
				"app/a.yaml": head +
					"  - {name: missing, kind: process.lua, source: file://nope.lua}\n" +
					"  - {name: escape, kind: process.lua, source: file://../../x.lua}\n" +
					"  - {name: scheme, kind: process.lua, source: x.lua}\n" +
					"  - {name: abs, kind: process.lua, source: file:///etc/x.lua}\n" +
					"  - {name: syntax, kind: process.lua, source: file://bad.lua}\n" +
					"  - {name: syntax2, kind: library.lua, source: file://bad.lua}\n" +
					"  - {name: eof, kind: library.lua, source: file://eof.lua}\n" +
					"  - {name: goto, kind: library.lua, source: file://lib/goto.lua}\n",
				"app/lib/goto.lua": "local x = 1\ngoto nowhere\n",
				"app/bad.lua":      "local x = 1\nlocal function f(\n  return x\nend\n",
				"app/eof.lua":      "local function f()\n  return 1\n",
			},
			want: []string{
				"app/a.yaml:4: app:missing: source file app/nope.lua not found",
				"app/a.yaml:5: app:escape: source \"file://../../x.lua\": path leaves the source directory",
				"app/a.yaml:6: app:scheme: source \"x.lua\": want file://relative/path.lua",
				"app/a.yaml:7: app:abs: source \"file:///etc/x.lua\": want a relative path with forward slashes after file://",
				"app/bad.lua:3: app:syntax: lua syntax error: syntax error near 'return'",
				"app/bad.lua:3: app:syntax2: lua syntax error: syntax error near 'return'",
				"app/eof.lua:2: app:eof: lua syntax error: syntax error at end of file",
				"app/lib/goto.lua:2: app:goto: lua compile error: no visible label 'nowhere' for <goto> at line 2",
			},
		},
		{
			name: "kinds",
			files: map[string]string{"a.yaml": head + hostEntry + procEntry +
				"  - {name: b, kind: banana}\n" +
				"  - {name: web, kind: http.service}\n" +
				"  - {name: db, kind: db.sql.postgres}\n" +
				"  - {name: fn, kind: function.lua}\n" +
				"  - {name: s, kind: process.service, process: fn, host: web, lifecycle: {requires: [db]}}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:b: unknown kind \"banana\"",
				"a.yaml:10: app:s: host: app:web references skipped entry of kind http.service",
				"a.yaml:10: app:s: lifecycle.requires[0]: app:db references skipped entry of kind db.sql.postgres",
				"a.yaml:10: app:s: process: app:fn references skipped entry of kind function.lua",
			},
		},
		{
			name: "aliases",
			files: map[string]string{"a.yaml": head + hostEntry + procEntry +
				"  - name: s\n    kind: process.service\n    process: p\n    host: h\n" +
				"    input: &loop [*loop]\n" +
				"  - {name: m, kind: env.variable, default: x, <<: {defalt: y}}\n" +
				"  - {name: d, kind: env.variable, default: x, default: y}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:10: app:s: input" + strings.Repeat("[0]", 65) + ": nested deeper than 64",
				"a.yaml:11: app:m: unknown field defalt (did you mean default?)",
				"a.yaml:12: app:d: duplicate key default",
			},
		},
		{
			name:  "control characters stay escaped",
			files: map[string]string{"a.yaml": head + "  - {name: e, kind: env.variable, default: x, \"bad\\nkey\": 1}\n"},
			want:  []string{"a.yaml:4: app:e: unknown field bad\\nkey"},
		},
		{
			name: "alternatives",
			files: map[string]string{"a.yaml": head + hostEntry + procEntry +
				"  - {name: s, kind: process.service, process: p, host: h, lifecycle: {requires: [a], depends_on: [b]}}\n" +
				"  - {name: e, kind: env.variable, variable: 'A=B'}\n",
				"p.lua": "return {}"},
			want: []string{
				"a.yaml:6: app:s: lifecycle.depends_on[0]: no entry app:b",
				"a.yaml:6: app:s: lifecycle: give requires or depends_on, not both",
				"a.yaml:7: app:e: variable: bad environment variable name \"A=B\"",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := loadProblems(t, tc.files)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLoadAliasBombs(t *testing.T) {
	var merges, lists strings.Builder
	merges.WriteString("      m0: &m0 {k: 1}\n")
	lists.WriteString("      l0: &l0 [1, 2]\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&merges, "      m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-1)
		fmt.Fprintf(&lists, "      l%d: &l%d [*l%d, *l%d]\n", i, i, i-1, i-1)
	}
	for name, meta := range map[string]string{"merge keys": merges.String(), "lists": lists.String()} {
		t.Run(name, func(t *testing.T) {
			got := loadProblems(t, map[string]string{"a.yaml": head +
				"  - name: e\n    kind: env.variable\n    default: x\n    meta:\n" + meta})
			// Reported where the budget ran out.
			want := []string{"a.yaml:9: app:e: file expands to more than 1000000 YAML nodes through aliases"}
			if name == "merge keys" {
				want[0] = strings.Replace(want[0], ":9:", ":12:", 1)
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems = %q, want %q", got, want)
			}
		})
	}
}

func TestSkippedKindWarnings(t *testing.T) {
	r := mustLoad(t, tree(map[string]string{"a.yaml": head +
		"  - {name: s, kind: http.servise, addr: ':80'}\n" +
		"  - {name: f, kind: function.lua, source: file://nope.lua}\n" +
		"  - {name: b, kind: process.lua.bc}\n"}))
	want := []string{
		"a.yaml:4: app:s: kind http.servise is not implemented by wippyd (did you mean http.service?); entry skipped",
		"a.yaml:5: app:f: kind function.lua is not implemented by wippyd; entry skipped",
		"a.yaml:6: app:b: kind process.lua.bc is not implemented by wippyd; entry skipped",
	}
	if got := problemStrings(r.Warnings()); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.All()) != 0 {
		t.Errorf("entries = %v", ids(r.All()))
	}
}

func TestPGScope(t *testing.T) {
	r := mustLoad(t, tree(map[string]string{"a.yaml": head +
		"  - {name: pg, kind: pg.scope, lifecycle: {auto_start: true}}\n" +
		"  - {name: chat, kind: pg.scope, anti_entropy_interval: 5s, max_groups: 10, max_members_per_group: 100, broadcast_timeout: 2s, max_retries: 3}\n"}))
	pg, _ := r.Get("app:pg")
	chat, _ := r.Get("app:chat")
	if pg == nil || pg.PG == nil || *pg.PG != (PGScope{AntiEntropy: DefaultAntiEntropy}) {
		t.Fatalf("app:pg = %+v", pg)
	}
	if chat == nil || *chat.PG != (PGScope{AntiEntropy: 5 * time.Second, MaxGroups: 10, MaxMembersPerGroup: 100}) {
		t.Fatalf("app:chat = %+v", chat.PG)
	}
	want := []string{
		"a.yaml:5: app:chat: broadcast_timeout has no effect in wippyd (see docs/cluster.md)",
		"a.yaml:5: app:chat: max_retries has no effect in wippyd (see docs/cluster.md)",
	}
	if got := problemStrings(r.Warnings()); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	probs := loadProblems(t, map[string]string{"a.yaml": head +
		"  - {name: pg, kind: pg.scope, max_groups: -1, max_retry: 2}\n"})
	if len(probs) != 2 {
		t.Fatalf("problems: %q", probs)
	}
}

// A kind a typo away from one wippyd runs, and no kind of Wippy's, is an
// error: skipped with a warning, the entry would silently never run.
// Wippy's own kinds, and kinds far from any, are skipped.
func TestKindTypos(t *testing.T) {
	got := loadProblems(t, map[string]string{"a.yaml": head +
		"  - {name: a, kind: process.luaa, source: file://x.lua}\n" +
		"  - {name: b, kind: proces.host}\n" +
		"  - {name: c, kind: process.servce, process: p}\n" +
		"  - {name: d, kind: process.wasm}\n" +
		"  - {name: e, kind: my.own.kind}\n"})
	want := []string{
		"a.yaml:4: app:a: unknown kind process.luaa (did you mean process.lua?)",
		"a.yaml:5: app:b: unknown kind proces.host (did you mean process.host?)",
		"a.yaml:6: app:c: unknown kind process.servce (did you mean process.service?)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With WithModules, a modules: list naming something that is no module is
// an error at its line; a module of Wippy's the engine lacks, a warning.
func TestModulesChecked(t *testing.T) {
	names := ModuleNames{Known: []string{"io", "json", "process", "time"}, Unimplemented: []string{"http", "io", "sql"}}
	yaml := head + "  - name: a\n    kind: process.lua\n    source: file://a.lua\n    modules: [io, jsno, process, http]\n" +
		"  - name: b\n    kind: library.lua\n    source: file://a.lua\n    modules:\n      - nothing-like-it\n"
	files := tree(map[string]string{"a.yaml": yaml, "a.lua": goodLua})
	_, err := LoadFS(files, ".", compileLua, WithModules(names))
	var le *LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("load: %v, want *LoadErrors", err)
	}
	want := []string{
		`a.yaml:7: app:a: modules: unknown module "jsno" (did you mean json?)`,
		`a.yaml:11: app:b: modules: unknown module "nothing-like-it"`,
	}
	if got := problemStrings(le.Problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantWarn := []string{`a.yaml:7: app:a: module http is not implemented by wippyd: require("http") will fail`}
	if got := problemStrings(le.Warnings); !slices.Equal(got, wantWarn) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarn, "\n"))
	}
	// Without WithModules the lists are not checked.
	mustLoad(t, tree(map[string]string{"a.yaml": head + "  - {name: a, kind: process.lua, source: file://a.lua, modules: [jsno]}\n", "a.lua": goodLua}))
}

// A YAML error is reported at the line that is wrong, not where the block
// around it began (yaml.v3's line).
func TestYAMLErrorLine(t *testing.T) {
	for name, c := range map[string]struct {
		yaml string
		want string
	}{
		"key indented too little": {head + "  - name: a\n    kind: process.lua\n    source: file://a.lua\n   method: main\n",
			"a.yaml:7: bad YAML: did not find expected '-' indicator (in the block from line 3)"},
		"key indented too much": {head + "  - name: a\n    kind: process.lua\n      method: main\n",
			"a.yaml:6: bad YAML: mapping values are not allowed in this context"},
		"tab": {head + "  - name: a\n\tkind: process.lua\n",
			"a.yaml:5: bad YAML: found a tab character that violates indentation (in the block from line 4)"},
		"unclosed quote": {head + "  - name: a\n    kind: \"process.lua\n\n\n",
			"a.yaml:5: bad YAML: found unexpected end of stream"},
		"past the searched size": {head + strings.Repeat("  - {name: e, kind: env.variable, default: x}  # padding\n", maxLineSearch/50) +
			"  - name: a\n    kind: env.variable\n   default: x\n",
			"a.yaml:3: bad YAML: did not find expected '-' indicator"},
		"second document": {head + "  - {name: a, kind: env.variable, default: x}\n---\n" + head +
			"  - name: b\n    kind: env.variable\n   default: x\n",
			"a.yaml:11: bad YAML: did not find expected '-' indicator (in the block from line 8)"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := loadProblems(t, map[string]string{"a.yaml": c.yaml}); !slices.Equal(got, []string{c.want}) {
				t.Errorf("problems = %q, want %q", got, c.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		s, want string
		from    []string
	}{
		{"jsno", "json", []string{"io", "json", "time"}}, // a swap is one edit
		{"tmie", "time", []string{"io", "json", "time"}},
		{"process.luaa", "process.lua", Kinds()},
		{"cancel_timout", "cancel_timeout", []string{"cancel_timeout", "max_mailbox"}},
		{"ab", "", []string{"ba", "abc"}}, // too short for a guess
		{"zebra", "", []string{"io", "json", "time"}},
	} {
		if got := Suggest(c.s, c.from, 3); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
}
