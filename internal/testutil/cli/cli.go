// Package cli runs a command line program to completion in a test, the way a user's shell would.
package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"
)

// Run runs bin with args, env added to the test's environment, and returns what it printed and
// its exit status. It fails the test only when bin cannot be run at all.
func Run(t testing.TB, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}
