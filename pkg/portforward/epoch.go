package portforward

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// remoteErrorWait bounds the wait for the error stream's verdict once a forwarded connection ends.
const remoteErrorWait = 5 * time.Second

// epoch is one connection to one pod; the Forwarder replaces it when it must reconnect.
type epoch struct {
	conn        streamhttp.Connection
	target      Target
	transport   string
	start       time.Time
	maxFailures int32

	requestID atomic.Int64
	failures  atomic.Int32 // forwarded connections in a row the pod side refused
	ok        atomic.Bool  // a probe or a connection went through

	failOnce sync.Once
	failed   chan struct{}
	mu       sync.Mutex
	reason   string
}

func newEpoch(conn streamhttp.Connection, target Target, transport string, maxFailures int) *epoch {
	return &epoch{conn: conn, target: target, transport: transport, start: time.Now(), maxFailures: int32(maxFailures), failed: make(chan struct{})}
}

func (ep *epoch) close() { _ = ep.conn.Close() }

// fail marks the epoch as broken; the Forwarder then replaces it.
func (ep *epoch) fail(reason string) {
	ep.failOnce.Do(func() {
		ep.mu.Lock()
		ep.reason = reason
		ep.mu.Unlock()
		close(ep.failed)
	})
}

func (ep *epoch) isFailed() bool {
	select {
	case <-ep.failed:
		return true
	default:
		return false
	}
}

func (ep *epoch) failReason() string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.reason
}

func (ep *epoch) markHealthy()  { ep.ok.Store(true) }
func (ep *epoch) healthy() bool { return ep.ok.Load() }

// result records how a forwarded connection ended: the pod side refusing several in a row (the
// port does not answer in the pod) breaks the epoch.
func (ep *epoch) result(remote error) {
	if remote == nil {
		ep.failures.Store(0)
		ep.markHealthy()
		return
	}
	var re *RemoteError
	if !errors.As(remote, &re) {
		return // the error stream broke: the connection itself is ending, and CloseChan says so
	}
	if ep.failures.Add(1) >= ep.maxFailures {
		ep.fail("pod " + ep.target.Pod + " refused " + strconv.Itoa(int(ep.maxFailures)) + " connections in a row: " + re.Error())
	}
}

// RemoteError is what the other end (the kubelet, or kwok) reported on a forwarded connection's
// error stream, such as nothing listening on the port inside the pod.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return strings.TrimSpace(e.Message) }

// open starts one forwarded connection: an error stream and a data stream, as kubectl does,
// except that both are created at once rather than one after the other, which saves a round
// trip to the pod's node on every new connection (the node pairs them by request ID, in either
// order; the connection keeps stream IDs in order).
func (ep *epoch) open() (*streamConn, error) {
	id := strconv.FormatInt(ep.requestID.Add(1)-1, 10)
	stream := func(typ string) http.Header {
		h := http.Header{}
		h.Set(corev1.StreamType, typ)
		h.Set(corev1.PortHeader, strconv.Itoa(ep.target.Port))
		h.Set(corev1.PortForwardRequestIDHeader, id)
		return h
	}
	type created struct {
		s   streamhttp.Stream
		err error
	}
	data := make(chan created, 1)
	go func() {
		s, err := ep.conn.CreateStream(stream(corev1.StreamTypeData))
		data <- created{s, err}
	}()
	errStream, err := ep.conn.CreateStream(stream(corev1.StreamTypeError))
	d := <-data
	if err != nil || d.err != nil {
		for _, s := range []streamhttp.Stream{errStream, d.s} {
			if s != nil {
				_ = s.Reset()
				ep.conn.RemoveStreams(s)
			}
		}
		return nil, errors.Join(err, d.err)
	}
	// Nothing is written to the error stream.
	_ = errStream.Close()
	s := &streamConn{ep: ep, errStream: errStream, data: d.s, errc: make(chan error, 1)}
	go func() {
		msg, err := io.ReadAll(errStream)
		switch {
		case err != nil:
			s.errc <- err
		case len(msg) > 0:
			s.errc <- &RemoteError{Message: string(msg)}
		default:
			s.errc <- nil
		}
	}()
	return s, nil
}

// streamConn is one forwarded connection as a net.Conn.
type streamConn struct {
	ep        *epoch
	errStream streamhttp.Stream
	data      streamhttp.Stream
	errc      chan error

	closeOnce sync.Once
	remote    error
}

var _ net.Conn = (*streamConn)(nil)

func (s *streamConn) Read(p []byte) (int, error)  { return s.data.Read(p) }
func (s *streamConn) Write(p []byte) (int, error) { return s.data.Write(p) }

// CloseWrite tells the pod side that no more data comes.
func (s *streamConn) CloseWrite() error { return s.data.Close() }

// Close discards what is still in flight and collects the error stream's verdict.
func (s *streamConn) Close() error {
	s.closeOnce.Do(func() {
		_ = s.data.Reset()
		t := time.NewTimer(remoteErrorWait)
		select {
		case s.remote = <-s.errc:
		case <-t.C:
		}
		t.Stop()
		s.ep.conn.RemoveStreams(s.errStream, s.data)
	})
	return nil
}

// RemoteError is the error stream's verdict after Close: nil, a *RemoteError, or why the error
// stream broke.
func (s *streamConn) RemoteError() error { return s.remote }

func (s *streamConn) LocalAddr() net.Addr              { return streamAddr{} }
func (s *streamConn) RemoteAddr() net.Addr             { return streamAddr{s.ep.target.String()} }
func (s *streamConn) SetDeadline(time.Time) error      { return nil }
func (s *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (s *streamConn) SetWriteDeadline(time.Time) error { return nil }

type streamAddr struct{ s string }

func (streamAddr) Network() string  { return "portforward" }
func (a streamAddr) String() string { return a.s }

// relay copies between a local connection and a forwarded one until the pod side is done, the
// local side fails, or ctx ends, as kubectl does: the local side closing its half only closes the
// stream's half, and the answer still comes back.
func relay(ctx context.Context, local net.Conn, s *streamConn) {
	remoteDone := make(chan struct{})
	localFailed := make(chan struct{})
	go func() {
		_, _ = io.Copy(local, s)
		close(remoteDone)
	}()
	go func() {
		_, err := io.Copy(s, local)
		_ = s.CloseWrite()
		if err != nil {
			close(localFailed)
		}
	}()
	select {
	case <-remoteDone:
	case <-localFailed:
	case <-ctx.Done():
	}
}
