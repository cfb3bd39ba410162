//go:build !linux

package proc

import (
	"os"
	"os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate asks cmd to exit.
func terminate(cmd *exec.Cmd) { _ = cmd.Process.Signal(os.Interrupt) }

// kill kills cmd.
func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
