package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	if p := os.Getenv("WIPPYD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where the browser test leaves its screenshots:
// $WIPPYD_ARTIFACTS, else a directory under the system's temp dir that
// outlives the test.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("WIPPYD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "wippyd-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// slowWorker handles each message only when release lets it: what is
// sent meanwhile waits in its mailbox. It ends on CANCEL.
type slowWorker struct{ release chan struct{} }

func (w *slowWorker) Init(*native.Ctx, []msg.Value) error { return nil }

func (w *slowWorker) HandleMessage(c *native.Ctx, _ native.Message) error {
	c.Env().Blocking(func() { <-w.release })
	return nil
}

func (w *slowWorker) HandleEvent(c *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryCancel {
		c.Stop(msg.Nil)
	}
	return nil
}

// The observer in a real headless Chromium against three loopback nodes:
// the page, loaded from n1, lists the three nodes and the leader, finds a
// process of n2 by its name, opens it, sees its mailbox depth go up and
// down, cancels it with the admin token and sees it gone. Screenshots are
// left in the artifact directory.
func TestObserverInBrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("SKIPPED: NO BROWSER. The observer's browser test needs Chromium (Debian: apt-get install chromium, " +
			"or WIPPYD_CHROMIUM=/path/to/chrome); scripts/test.sh installs it when it can. The page was NOT tested in a browser.")
	}
	ns := observerCluster(t)
	n1, n2 := ns[0], ns[1]
	w := &slowWorker{release: make(chan struct{})}
	released := false
	t.Cleanup(func() {
		if !released {
			close(w.release)
		}
	})
	target, err := n2.Runtime().Spawn(proc.SpawnRequest{Entry: "app:observed", Name: "observed-worker", Behavior: native.New(w)})
	if err != nil {
		t.Fatal(err)
	}
	// Company for it: 120 idle processes on n2 (more than two pages),
	// some named, and a few on the others.
	for i := range 120 {
		name := ""
		if i%10 == 0 {
			name = fmt.Sprintf("worker-%03d", i)
		}
		spawnNamed(t, n2, []string{"app:worker", "app:cache", "app:session"}[i%3], name)
	}
	spawnNamed(t, n1, "app:gateway", "gateway")
	spawnNamed(t, ns[2], "app:worker", "")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.WindowSize(1280, 860), chromedp.DisableGPU)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	dir := artifactDir(t)
	shot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	// waitJS polls a JavaScript condition in the page until it holds.
	waitJS := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage: %.2000s", what, err, html)
		}
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	base := "http://" + n1.AdminAddr() + "/"

	// The cluster: three nodes, one leader.
	if err := chromedp.Do(ctx, chromedp.Navigate(base)); err != nil {
		t.Fatal(err)
	}
	waitJS("three nodes and a leader", `document.querySelectorAll('#nodes tr.node-row').length === 3 &&
		/^n[123]$/.test(document.querySelector('#leader').textContent) &&
		document.querySelectorAll('#nodes tr.node-row .leader').length === 1 &&
		[...document.querySelectorAll('#nodes tr.node-row')].every(r => r.textContent.includes('alive'))`)
	leader := text("#leader")
	t.Logf("the page shows leader %s", leader)
	shot("observer-cluster.png")

	// The token, then the process by its name on n2.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#token"), adminTestToken),
		chromedp.Click(chromedp.CSS("#token-save")),
		chromedp.Navigate(base+"#/n/n2/processes"),
	); err != nil {
		t.Fatal(err)
	}
	waitJS("a first page of 50 of n2's 121 processes", `document.querySelectorAll('#procs tr.proc').length === 50 &&
		document.querySelector('#page-info').textContent.includes('of 3') &&
		document.querySelector('#page-info').textContent.includes('121 processes')`)
	shot("observer-processes.png")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-name"), "observed"),
		chromedp.Click(chromedp.CSS("#f-apply")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS("the process found by its name", fmt.Sprintf(`document.querySelectorAll('#procs tr.proc').length === 1 &&
		document.querySelector('#procs tr.proc').dataset.pid === %q`, target.String()))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#procs tr.proc a.pid-link"))); err != nil {
		t.Fatal(err)
	}
	waitJS("the process page", `document.querySelector('#p-mailbox') !== null &&
		document.querySelector('#p-mailbox').textContent === '0' &&
		document.querySelector('#p-names').textContent === 'observed-worker'`)

	// Its mailbox fills while it is busy with a first message, and drains.
	send := func() {
		if err := n1.Runtime().Send(pid.PID{}, target, "work", msg.Int(1)); err != nil {
			t.Fatal(err)
		}
	}
	send()
	await.Until(t, "the worker busy with its first message", func() bool {
		d, _ := n2.Runtime().Process(target)
		return d.In == 1
	})
	for range 4 {
		send()
	}
	waitJS("mailbox depth 4 on the page", `document.querySelector('#p-mailbox').textContent === '4'`)
	shot("observer-process.png")
	close(w.release)
	released = true
	waitJS("mailbox depth back to 0 on the page", `document.querySelector('#p-mailbox').textContent === '0'`)

	// Cancel it with the token: the page shows it gone.
	waitJS("the cancel button enabled", `!document.querySelector('#btn-cancel').disabled`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#btn-cancel"))); err != nil {
		t.Fatal(err)
	}
	waitJS("the process gone on the page", `document.querySelector('#p-gone') !== null`)
	if _, ok := n2.Runtime().Process(target); ok {
		t.Fatal("the page says gone but the process lives")
	}
	shot("observer-gone.png")

	// The node view of n2, with its charts, for the record.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/n/n2")); err != nil {
		t.Fatal(err)
	}
	waitJS("n2's node view", `document.querySelector('#node-processes') !== null && document.querySelectorAll('svg.chart').length === 2`)
	shot("observer-node.png")

	// n2's names, filtered.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/n/n2/names?name=worker-01")); err != nil {
		t.Fatal(err)
	}
	waitJS("n2's local names filtered", `document.querySelector('#names') !== null &&
		document.querySelector('#names').textContent.includes('local (1)') &&
		document.querySelector('#names').textContent.includes('worker-010') &&
		document.querySelector('#names').textContent.includes('worker-020') === false`)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/n/n3/groups")); err != nil {
		t.Fatal(err)
	}
	waitJS("n3's groups (it has no pg scope)", `document.querySelector('#groups') !== null &&
		document.querySelector('#groups').textContent.includes('no pg scopes')`)
}
