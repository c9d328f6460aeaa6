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
	"time"

	"github.com/wippyd/wippyd/node"
)

// stopGrace bounds a graceful stop: processes still running after it are
// terminated. Services' own stop_timeout applies within it.
const stopGrace = 30 * time.Second

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
	cfg, err := node.LoadConfig(node.LoadOptions{File: *cfgFile, Env: environ, Set: sets, OneShot: *exec != ""})
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return 2
	}
	app, demo, err := loadApp(*src)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	if demo && *exec == "" {
		*exec = node.DemoEntry
	}
	if *exec != "" {
		if err := node.CheckRunnable(app, *exec); err != nil {
			fmt.Fprintf(stderr, "wippyd run: -x: %v\n", err)
			return 2
		}
	}
	logLevel := cfg.Log.SlogLevel()
	termHost := ""
	if *exec != "" {
		var hide bool
		if termHost, hide, err = node.TerminalHost(app, *host); err != nil {
			fmt.Fprintf(stderr, "wippyd run: %v\n", err)
			return 2
		}
		if hide {
			logLevel = slog.LevelError
		}
	}
	logger := newLogger(stderr, cfg.Log.Format, logLevel)
	for _, w := range app.Warnings() {
		logger.Warn("entry skipped", "problem", w.String())
	}
	opts := []node.Option{node.WithApp(app), node.WithLogger(logger),
		node.WithTerminal(&node.Terminal{Stdin: stdin, Stdout: stdout, Stderr: stderr, Args: fs.Args()})}
	if *exec != "" {
		opts = append(opts, node.AsClient()) // a one-shot program is never a Raft voter
	}
	n, err := node.New(cfg, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return 2
	}
	if err := n.Start(); err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return 1
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		return n.Stop(ctx)
	}
	if *exec == "" {
		sig := <-signals
		logger.Info("stopping", "signal", sig.String())
		if err := stop(); err != nil {
			logger.Error("stop", "err", err)
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case sig := <-signals:
			logger.Info("stopping", "signal", sig.String())
			stop() // the -x process gets CANCEL like every other
		case <-ctx.Done():
		}
	}()
	res, err := n.Exec(ctx, *exec, termHost, node.StringArgs(fs.Args()))
	if serr := stop(); serr != nil {
		logger.Error("stop", "err", serr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wippyd run: %v\n", err)
		return 1
	}
	code, out, errText := node.ExitStatus(res)
	io.WriteString(stdout, out)
	io.WriteString(stderr, errText)
	return code
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
