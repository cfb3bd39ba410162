package kubetest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// podNetwork stands in for the network between the API server and the nodes and pods. Pod IPs in
// a test cluster are fake (kwok hands them out from a CIDR nobody routes) and the API server
// refuses loopback addresses in EndpointSlices, so kube-apiserver runs with an egress selector
// that sends all its cluster traffic (to kubelets, and what it proxies to Services and pods) to
// this HTTP CONNECT proxy on a Unix socket, as it would to a Konnectivity server. The proxy
// connects loopback addresses (kwok's kubelet API) as they are, pod IP:port pairs a test routed
// (Cluster.RoutePod) to their loopback targets, and refuses everything else: nothing the API
// server sends to the cluster leaves loopback.
type podNetwork struct {
	dir      string
	listener net.Listener

	mu     sync.Mutex
	routes map[string]string // pod IP:port → loopback host:port
	direct []*net.IPNet      // ranges connected as they are (Cluster.RoutePodRange)
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startPodNetwork() (*podNetwork, error) {
	// A short directory of its own: Unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "kt-net-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", filepath.Join(dir, "egress.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	n := &podNetwork{dir: dir, listener: l, routes: map[string]string{}, conns: map[net.Conn]struct{}{}}
	n.wg.Add(1)
	go n.serve()
	return n, nil
}

func (n *podNetwork) socket() string { return n.listener.Addr().String() }

// egressConfig is the API server's --egress-selector-config-file.
func (n *podNetwork) egressConfig() string {
	return fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %q
`, n.socket())
}

func (n *podNetwork) stop() {
	_ = n.listener.Close()
	n.mu.Lock()
	for c := range n.conns {
		_ = c.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
	_ = os.RemoveAll(n.dir)
}

func (n *podNetwork) track(c net.Conn, add bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if add {
		n.conns[c] = struct{}{}
	} else {
		delete(n.conns, c)
	}
}

func (n *podNetwork) serve() {
	defer n.wg.Done()
	for {
		c, err := n.listener.Accept()
		if err != nil {
			return
		}
		n.track(c, true)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer n.track(c, false)
			defer c.Close()
			n.handle(c)
		}()
	}
}

// handle answers one CONNECT request and then relays bytes both ways.
func (n *podNetwork) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		_, _ = fmt.Fprintf(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	addr := req.URL.Host
	if addr == "" {
		addr = req.Host
	}
	target, err := n.resolve(addr)
	if err != nil {
		msg := err.Error()
		_, _ = fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
		return
	}
	upstream, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		msg := err.Error()
		_, _ = fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
		return
	}
	defer upstream.Close()
	n.track(upstream, true)
	defer n.track(upstream, false)
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		// What the API server sent after the CONNECT request may already sit in the reader.
		_, _ = io.Copy(upstream, br)
		if tcp, ok := upstream.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(c, upstream)
	if u, ok := c.(*net.UnixConn); ok {
		_ = u.CloseWrite()
	}
	<-done
}

// resolve says where a connection to addr goes.
func (n *podNetwork) resolve(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("kubetest pod network: bad address %q", addr)
	}
	if isLoopback(host) {
		return addr, nil
	}
	n.mu.Lock()
	target, ok := n.routes[addr]
	for _, r := range n.direct {
		if ip := net.ParseIP(host); !ok && ip != nil && r.Contains(ip) {
			target, ok = addr, true
		}
	}
	n.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("kubetest pod network: no route to %s (route it with Cluster.RoutePod)", addr)
	}
	return target, nil
}

// RoutePod makes what the API server sends to podIP:port (a Service or pod proxy to that pod)
// reach target, a loopback host:port. Routes last as long as the cluster.
func (c *Cluster) RoutePod(podIP string, port int, target string) {
	host, _, err := net.SplitHostPort(target)
	if err != nil || !isLoopback(host) {
		panic(fmt.Sprintf("kubetest: RoutePod target %q is not a loopback host:port", target))
	}
	c.podNet.mu.Lock()
	defer c.podNet.mu.Unlock()
	c.podNet.routes[net.JoinHostPort(podIP, strconv.Itoa(port))] = target
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
