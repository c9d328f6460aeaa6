package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wippyd/wippyd/node"
)

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

var runCommand = register(&command{
	name:     "run",
	synopsis: "wippyd run [--src DIR] [--watch] [--config FILE] [--set KEY=VALUE]... [-v] [-x ENTRY [--host HOST]] [ARGS...]",
	help: `Starts a node with the Wippy app under --src: every *.yaml file below DIR
is loaded (all its problems are reported at once, as file:line: entry:
message), its hosts and services start, and the node runs until SIGINT or
SIGTERM. With -x it runs one process.lua entry on the terminal host, with
stdin and stdout wired to the io module, and exits with the status its
main returns; the node then logs warnings and errors only.

flags:
  --src DIR          the app's directory (default: ./src when it exists,
                     else the built-in demo app, whose tour runs)
  --watch            reload the tree when a YAML or Lua file under it
                     changes; upgradable processes get OUTDATED (the same
                     as --set node.watch=true)
  --config FILE      YAML config file (every key: docs/configuration.md);
                     default: .wippy.yaml in the working directory, if any
  --set KEY=VALUE    set one config key, over --config and WIPPY_* variables,
                     e.g. --set node.name=n1 (repeatable; the last one wins)
  -x ENTRY           run the process.lua entry ENTRY, written namespace:name
                     (e.g. app:main), then exit with its status
  --host HOST        the terminal host for -x when the app has several
  -v, --verbose      log at info too, as a node without -x does
                     (the same as --set log.level=info)
  -h, --help         print this help

arguments:
  ARGS               with -x: passed to main(...) as strings; io.args()
                     returns them too

exit status:
  0        a normal stop; -x: main returned nothing, nil, 0, true or a
           string (printed)
  1        -x: main failed, returned false or was killed; or the node
           could not start
  2        bad flags, config or source tree: nothing was started
  3        the Raft data directory needs an operator (the Raft store
           damaged, or lost on a node that was part of a cluster)
  N        -x: the integer 0..255 main returned
  128+n    a second signal n (SIGINT 2, SIGTERM 15) ended the stop at once
`,
})

// runCmd is `wippyd run` (SPEC section 2).
func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string, signals <-chan os.Signal) int {
	c := runCommand
	fs := c.flags()
	src := fs.String("src", "", "")
	cfgFile := fs.String("config", "", "")
	var sets setFlags
	fs.Var(&sets, "set", "")
	exec := fs.String("x", "", "")
	host := fs.String("host", "", "")
	var verbose bool
	fs.BoolVar(&verbose, "v", false, "")
	fs.BoolVar(&verbose, "verbose", false, "")
	watchSrc := fs.Bool("watch", false, "")
	if code := c.parse(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if *host != "" && *exec == "" {
		return c.misuse(stderr, "--host needs -x")
	}
	if *exec == "" && fs.NArg() > 0 {
		if st, err := os.Stat(fs.Arg(0)); err == nil && st.IsDir() && *src == "" {
			return c.misuse(stderr, "unexpected argument %q: ARGS go to a -x program (did you mean --src %s?)", fs.Arg(0), fs.Arg(0))
		}
		return c.misuse(stderr, "unexpected argument %q: ARGS go to a -x program", fs.Arg(0))
	}
	if verbose { // before the --set flags, which may say otherwise
		sets = append(setFlags{"log.level=info"}, sets...)
	}
	if *watchSrc { // as --set node.watch=true, after the --set flags: the flag wins
		sets = append(sets, "node.watch=true")
	}
	o := &runOptions{src: *src, config: *cfgFile, sets: sets, exec: *exec, host: *host, args: fs.Args(),
		environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
	return runNode(o, signals)
}

// runNode runs the node o describes until it stops and returns the exit
// status.
func runNode(o *runOptions, signals <-chan os.Signal) int {
	stderr, stdout := o.stderr, o.stdout
	n, logger, termHost, code := prepare(o)
	if n == nil {
		return code
	}
	// Signals are watched from before the start: one during a slow
	// service start begins the stop at once.
	s := watch(n, logger, signals)
	var err error
	if s.run(func() { err = n.Start() }) {
		return s.killedStatus()
	}
	if err != nil {
		s.stop()
		if forced := s.wait(); forced >= 0 {
			return forced
		}
		if code := s.exitCode(-1); code >= 0 {
			return code // a process called system.exit during the start
		}
		if s.signalled() && o.exec == "" {
			return 0 // stopped as asked
		}
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return failed(err, 1)
	}
	if o.exec == "" {
		<-s.begun
		if forced := s.wait(); forced >= 0 {
			return forced
		}
		return s.exitCode(0)
	}
	return execute(n, s, o.exec, termHost, o.args, stdout, stderr)
}

// execute runs the -x program, stops the node when it ends (or when a
// signal begins the stop: the program gets CANCEL like every process) and
// returns the exit status.
func execute(n *node.Node, s *stopper, entry, host string, args []string, stdout, stderr io.Writer) int {
	var report func() int // prints how the program ended, returns the status
	if s.run(func() {
		res, err := n.Exec(context.Background(), entry, host, node.StringArgs(args))
		report = func() int {
			if err != nil {
				fmt.Fprintf(stderr, "wippyd run: %v\n", err)
				return 1
			}
			code, out, errText := node.ExitStatus(res)
			io.WriteString(stdout, out)
			io.WriteString(stderr, errText)
			return code
		}
	}) {
		return s.killedStatus()
	}
	s.stop()
	if forced := s.wait(); forced >= 0 {
		return forced
	}
	return s.exitCode(report())
}

// runOptions are the flags, arguments and I/O of one `wippyd run`.
type runOptions struct {
	demo                    bool // the built-in demo app, whatever ./src holds
	src, config, exec, host string
	sets, args, environ     []string
	stdin                   io.Reader
	stdout, stderr          io.Writer
}

// prepare loads the config and the source tree and builds the node; on a
// problem it prints it and returns a nil node and the exit status (2).
// An empty o.exec becomes the demo's entry when the demo app runs.
func prepare(o *runOptions) (*node.Node, *slog.Logger, string, int) {
	stderr := o.stderr
	cfg, err := node.LoadConfig(node.LoadOptions{File: node.ConfigFile(o.config), Env: o.environ, Set: o.sets, OneShot: o.exec != ""})
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return nil, nil, "", 2
	}
	t, err := loadApp(o.src, o.demo)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, nil, "", 2
	}
	app := t.app
	if t.demo && o.exec == "" {
		o.exec = node.DemoEntry
	}
	logLevel := cfg.Log.SlogLevel()
	termHost := ""
	if o.exec != "" {
		if err := node.CheckRunnable(app, o.exec); err != nil {
			fmt.Fprint(stderr, explainExec(t, o.exec, err))
			return nil, nil, "", 2
		}
		var hide bool
		if termHost, hide, err = node.TerminalHost(app, o.host); err != nil {
			fmt.Fprintf(stderr, "wippyd run: %v\n", err)
			return nil, nil, "", 2
		}
		if hide {
			logLevel = slog.LevelError
		}
	}
	logger := newLogger(stderr, cfg.Log.Format, logLevel)
	for _, w := range app.Warnings() {
		logger.Warn("source tree", "problem", w.String())
	}
	opts := []node.Option{node.WithApp(app), node.WithSourceDir(t.dir), node.WithLogger(logger),
		node.WithTerminal(&node.Terminal{Stdin: o.stdin, Stdout: o.stdout, Stderr: stderr, Args: o.args})}
	if o.exec != "" {
		opts = append(opts, node.AsClient()) // a one-shot program is never a Raft voter
	}
	n, err := node.New(cfg, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return nil, nil, "", failed(err, 2)
	}
	return n, logger, termHost, 0
}

// failed is the exit status for err, which kept the node from starting:
// 3 when the Raft data dir needs an operator (restarting will not help),
// else status.
func failed(err error, status int) int {
	if errors.Is(err, node.ErrRaftStoreDamaged) || errors.Is(err, node.ErrRaftStateLost) {
		return 3
	}
	return status
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	ho := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// osSignals delivers SIGINT and SIGTERM.
func osSignals() <-chan os.Signal {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch
}
