// Package proc starts the servers tests run (etcd, kube-apiserver, Prometheus) in process groups
// of their own and stops them, gently first.
package proc

import (
	"os/exec"
	"time"
)

// Group makes cmd the leader of a new process group that dies with the test binary, so a test
// that times out leaves no server behind.
func Group(cmd *exec.Cmd) { cmd.SysProcAttr = sysProcAttr() }

// Stop asks cmd's process group to exit, waits up to grace for done to close, then kills the
// group and waits for done. done must close when cmd has exited.
func Stop(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	terminate(cmd)
	select {
	case <-done:
	case <-time.After(grace):
		kill(cmd)
		<-done
	}
}
