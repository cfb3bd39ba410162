package portforward

import (
	"net"
	"strings"
	"testing"
)

// TestForwarderPorts: the first free port of the list, and localhost on both loopbacks.
func TestForwarderPorts(t *testing.T) {
	taken, err := listen("127.0.0.1", []int{0})
	if err != nil {
		t.Fatal(err)
	}
	defer taken[0].Close()
	takenPort := taken[0].Addr().(*net.TCPAddr).Port
	ls, err := listen("127.0.0.1", []int{takenPort, 0})
	if err != nil || ls[0].Addr().(*net.TCPAddr).Port == takenPort {
		t.Fatalf("fallback to any port: %v %v", ls, err)
	}
	ls[0].Close()
	if _, err := listen("127.0.0.1", []int{takenPort}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("a taken port alone: %v", err)
	}
	ls, err = listen("localhost", []int{0})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Addr().(*net.TCPAddr).Port != ls[0].Addr().(*net.TCPAddr).Port {
			t.Errorf("localhost listeners on different ports: %v", l.Addr())
		}
		l.Close()
	}
}
