package portforward

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientportforward "k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// Transports a port-forward connection can use, as Connection reports them.
const (
	TransportWebSocket = "websocket"
	TransportSPDY      = "spdy"
)

// Dialer opens port-forward connections to pods.
type Dialer interface {
	// Dial opens a port-forward connection to the pod and says which transport carries it.
	Dial(ctx context.Context, namespace, pod string) (conn streamhttp.Connection, transport string, err error)
}

// KubeDialer dials through the API server, as kubectl port-forward does: SPDY tunnelled through a
// WebSocket first (a GET, allowed by get on pods/portforward), and plain SPDY (a POST, create on
// pods/portforward) when the API server or a proxy in between refuses the WebSocket upgrade.
// KUBECTL_PORT_FORWARD_WEBSOCKETS=false skips the WebSocket, as it does for kubectl.
type KubeDialer struct {
	config *rest.Config
	client rest.Interface
}

// NewKubeDialer returns a dialer for the cluster and user of config.
func NewKubeDialer(config *rest.Config) (*KubeDialer, error) {
	cs, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	return &KubeDialer{config: config, client: cs.CoreV1().RESTClient()}, nil
}

// WebSocketsEnabled reports whether KUBECTL_PORT_FORWARD_WEBSOCKETS leaves the WebSocket
// transport on.
func WebSocketsEnabled() bool {
	return !strings.EqualFold(strings.TrimSpace(os.Getenv("KUBECTL_PORT_FORWARD_WEBSOCKETS")), "false")
}

// Dial implements Dialer. The upgrade itself cannot be canceled; when ctx ends first, Dial
// returns at once and closes the connection when it arrives.
func (d *KubeDialer) Dial(ctx context.Context, namespace, pod string) (streamhttp.Connection, string, error) {
	u := d.client.Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer, used, err := d.dialer(u)
	if err != nil {
		return nil, "", err
	}
	type result struct {
		conn     streamhttp.Connection
		protocol string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		conn, protocol, err := dialer.Dial(clientportforward.PortForwardProtocolV1Name)
		done <- result{conn, protocol, err}
	}()
	select {
	case <-ctx.Done():
		go func() {
			if r := <-done; r.conn != nil {
				_ = r.conn.Close()
			}
		}()
		return nil, "", ctx.Err()
	case r := <-done:
		if r.err != nil {
			return nil, "", &DialError{Namespace: namespace, Pod: pod, Err: r.err}
		}
		if r.protocol != clientportforward.PortForwardProtocolV1Name {
			_ = r.conn.Close()
			return nil, "", fmt.Errorf("port-forward to pod %s/%s: the API server chose protocol %q, not %q", namespace, pod, r.protocol, clientportforward.PortForwardProtocolV1Name)
		}
		return r.conn, used.get(), nil
	}
}

// dialer builds kubectl's dialer for one pod's port-forward URL.
func (d *KubeDialer) dialer(u *url.URL) (streamhttp.Dialer, *usedTransport, error) {
	rt, upgrader, err := spdy.RoundTripperFor(d.config)
	if err != nil {
		return nil, nil, err
	}
	used := &usedTransport{}
	var dialer streamhttp.Dialer = &recordingDialer{
		Dialer: spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, u),
		name:   TransportSPDY, used: used,
	}
	if WebSocketsEnabled() {
		ws, err := clientportforward.NewSPDYOverWebsocketDialerForStreaming(u, d.config)
		if err != nil {
			return nil, nil, err
		}
		dialer = clientportforward.NewFallbackDialerForStreaming(&recordingDialer{Dialer: ws, name: TransportWebSocket, used: used}, dialer, func(err error) bool {
			return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
		})
	}
	return dialer, used, nil
}

// usedTransport remembers which transport of a fallback dialer connected.
type usedTransport struct {
	mu   sync.Mutex
	name string
}

func (u *usedTransport) get() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.name
}

type recordingDialer struct {
	streamhttp.Dialer
	name string
	used *usedTransport
}

func (r *recordingDialer) Dial(protocols ...string) (streamhttp.Connection, string, error) {
	conn, protocol, err := r.Dialer.Dial(protocols...)
	if err == nil {
		r.used.mu.Lock()
		r.used.name = r.name
		r.used.mu.Unlock()
	}
	return conn, protocol, err
}

// DialError is a failed port-forward upgrade.
type DialError struct {
	Namespace, Pod string
	Err            error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("port-forward to pod %s/%s: %v", e.Namespace, e.Pod, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Forbidden reports whether the API server refused the port-forward for lack of permission.
func (e *DialError) Forbidden() bool {
	msg := e.Err.Error()
	return strings.Contains(msg, "forbidden") || strings.Contains(msg, "403 Forbidden")
}
