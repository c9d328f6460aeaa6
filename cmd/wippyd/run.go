package main

import (
	"context"
	"errors"
	"flag"
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

// runCmd is `wippyd run` (SPEC section 2).
func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string, signals <-chan os.Signal) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("src", "", "load every *.yaml under this directory (default ./src when it exists, else the built-in demo)")
	cfgFile := fs.String("config", "", "YAML config file")
	var sets setFlags
	fs.Var(&sets, "set", "override one config key: --set a.b.c=value (repeatable)")
	exec := fs.String("x", "", "run this process.lua entry on the terminal host, then exit with its status")
	host := fs.String("host", "", "the terminal host for -x when the app has several")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *host != "" && *exec == "" {
		fmt.Fprintln(stderr, "wippyd run: --host needs -x")
		return 2
	}
	o := &runOptions{src: *src, config: *cfgFile, sets: sets, exec: *exec, host: *host, args: fs.Args(),
		environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
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
		return 0
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
	return report()
}

// runOptions are the flags, arguments and I/O of one `wippyd run`.
type runOptions struct {
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
	cfg, err := node.LoadConfig(node.LoadOptions{File: o.config, Env: o.environ, Set: o.sets, OneShot: o.exec != ""})
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return nil, nil, "", 2
	}
	app, demo, err := loadApp(o.src)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, nil, "", 2
	}
	if demo && o.exec == "" {
		o.exec = node.DemoEntry
	}
	logLevel := cfg.Log.SlogLevel()
	termHost := ""
	if o.exec != "" {
		if err := node.CheckRunnable(app, o.exec); err != nil {
			fmt.Fprintf(stderr, "wippyd run: -x: %v\n", err)
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
	opts := []node.Option{node.WithApp(app), node.WithLogger(logger),
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

// loadApp loads --src, else ./src, else the embedded demo.
func loadApp(src string) (app *node.App, demo bool, err error) {
	if src == "" {
		if st, statErr := os.Stat("src"); statErr == nil && st.IsDir() {
			src = "src"
		}
	}
	if src == "" {
		app, err = node.LoadDemoApp()
		return app, true, err
	}
	if st, statErr := os.Stat(src); statErr != nil || !st.IsDir() {
		return nil, false, fmt.Errorf("wippyd run: --src %s: not a directory", src)
	}
	app, err = node.LoadApp(src)
	return app, false, err
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
