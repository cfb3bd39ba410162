// Package netns runs a test inside a private network namespace of its own, where the pod
// addresses of a test cluster are local addresses: servers listening on 0.0.0.0 answer on every
// pod IP, the API server accepts those IPs in EndpointSlices (it refuses loopback ones), nothing
// can collide with ports on the host, and no packet leaves the namespace.
//
// The test binary runs the test again under `unshare --net` (with `--user --map-root-user` when
// not root), after setting loopback up and routing PodRange as local addresses:
//
//	func TestChain(t *testing.T) {
//		if !netns.Inside() {
//			netns.Rerun(t)
//			return
//		}
//		...
//	}
package netns

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// PodRange is routed to loopback as local addresses inside the namespace.
const PodRange = "10.244.0.0/16"

// envInside marks the process that runs inside the namespace.
const envInside = "PROMTEAM_TEST_NETNS"

// Inside reports whether the test runs inside the namespace Rerun made.
func Inside() bool { return os.Getenv(envInside) == "1" }

// Rerun runs the calling top-level test again inside a new network namespace, with env added to
// its environment, streams its output into t's log, and fails t when it fails. It fails t too when
// the machine cannot make a network namespace (unshare needs root, or unprivileged user
// namespaces).
func Rerun(t *testing.T, env ...string) {
	t.Helper()
	rerun(t, 0, env)
}

// RerunParallel is Rerun with up to parallel parallel subtests running at once inside (or the
// -parallel the test binary got, if more): the default, GOMAXPROCS, holds back subtests that
// mostly wait for servers.
func RerunParallel(t *testing.T, parallel int, env ...string) {
	t.Helper()
	rerun(t, parallel, env)
}

func rerun(t *testing.T, parallel int, env []string) {
	t.Helper()
	if strings.Contains(t.Name(), "/") {
		t.Fatal("netns: Rerun runs a top-level test; call it before t.Run")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("netns: %s is missing (util-linux and iproute2 provide them)", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--net", "--fork"}
	if os.Geteuid() != 0 {
		args = append(args, "--user", "--map-root-user")
	}
	testArgs := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	if f := flag.Lookup("test.parallel"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n > parallel {
			parallel = n
		}
	}
	if parallel > 0 {
		testArgs = append(testArgs, "-test.parallel="+strconv.Itoa(parallel))
	}
	if deadline, ok := t.Deadline(); ok {
		// Leave time for the inner test to report before the outer one times out.
		testArgs = append(testArgs, "-test.timeout="+time.Until(deadline).Truncate(time.Second).String())
	}
	const script = `ip link set lo up && ip route add local ` + PodRange + ` dev lo && exec "$@"`
	args = append(args, "--", "sh", "-c", script, "sh", exe)
	args = append(args, testArgs...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(append(os.Environ(), envInside+"=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("netns: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var tail []string
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
	}()
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		last := strings.Join(tail, "\n")
		if strings.Contains(last, "unshare: ") {
			t.Fatalf("netns: cannot make a network namespace (it needs root, or unprivileged user namespaces): %v\n%s", err, last)
		}
		t.Fatalf("netns: %s inside its network namespace: %v", t.Name(), err)
	}
}
