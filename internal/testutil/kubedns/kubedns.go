// Package kubedns answers DNS for a test cluster the way the cluster's DNS add-on does, from the
// Services and EndpointSlices of the real API server, so that a process that finds its peers by
// DNS (a Thanos Query with `--endpoint=dnssrv+_grpc._tcp.SERVICE.NAMESPACE.svc`) runs with the
// arguments a manifest gives it.
//
// It knows the records of the Kubernetes DNS specification that such lookups use, under the
// cluster domain (cluster.local):
//   - A SERVICE.NS.svc.DOMAIN: the ClusterIP, or for a headless Service every ready endpoint;
//   - A HOSTNAME.SERVICE.NS.svc.DOMAIN and A a-b-c-d.SERVICE.NS.svc.DOMAIN: a headless
//     Service's endpoint, by its hostname (a StatefulSet's pod) or its dashed address;
//   - SRV _PORT._PROTO.SERVICE.NS.svc.DOMAIN: one record per ready endpoint of a headless Service
//     (its endpoint's name as the target), or the Service's own name for one with a ClusterIP.
//
// AAAA questions about a known name are answered with no records; anything else is NXDOMAIN.
// Only UDP is served, and answers are small.
package kubedns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"golang.org/x/net/dns/dnsmessage"
)

// Domain is the cluster domain.
const Domain = "cluster.local"

// ttl is the records' time to live: short, so that a test that changes endpoints sees it soon.
const ttl = 1

// Server is a running DNS server.
type Server struct {
	Addr   string // host:port it answers on
	client kubernetes.Interface
	conn   net.PacketConn
}

// Start answers DNS on addr (UDP; 127.0.0.1:53 for a resolv.conf to name) from the cluster
// client reaches, until the test ends.
func Start(t testing.TB, client kubernetes.Interface, addr string) *Server {
	t.Helper()
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("kubedns: %v", err)
	}
	s := &Server{Addr: conn.LocalAddr().String(), client: client, conn: conn}
	done := make(chan struct{})
	go func() { defer close(done); s.serve() }()
	t.Cleanup(func() { _ = conn.Close(); <-done })
	return s
}

// ResolvConf is a resolv.conf that sends every lookup to the server, with the search path of a
// pod in namespace ns. Resolvers ask port 53: the server must listen there.
func (s *Server) ResolvConf(ns string) string {
	host, _, _ := net.SplitHostPort(s.Addr)
	return fmt.Sprintf("nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:5\n", host, ns, Domain, Domain, Domain)
}

func (s *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		answer, err := s.answer(buf[:n])
		if err != nil {
			continue
		}
		_, _ = s.conn.WriteTo(answer, from)
	}
}

// answer is the reply to one query message.
func (s *Server) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, known, err := s.lookup(ctx, strings.ToLower(strings.TrimSuffix(q.Name.String(), ".")))
	rcode := dnsmessage.RCodeSuccess
	switch {
	case err != nil:
		rcode = dnsmessage.RCodeServerFailure
	case !known:
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
	for _, r := range recs {
		switch {
		case q.Type == dnsmessage.TypeA && r.ip.IsValid():
			err = b.AResource(rh, dnsmessage.AResource{A: r.ip.As4()})
		case q.Type == dnsmessage.TypeSRV && r.target != "":
			target, nerr := dnsmessage.NewName(r.target + ".")
			if nerr != nil {
				return nil, nerr
			}
			err = b.SRVResource(rh, dnsmessage.SRVResource{Priority: 0, Weight: 10, Port: r.port, Target: target})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// record is one answer: an address (A) or a service location (SRV).
type record struct {
	ip     netip.Addr
	target string
	port   uint16
}

// lookup is what name (without the final dot) resolves to, and whether the name exists.
func (s *Server) lookup(ctx context.Context, name string) ([]record, bool, error) {
	rest, ok := strings.CutSuffix(name, ".svc."+Domain)
	if !ok {
		return nil, false, nil
	}
	labels := strings.Split(rest, ".")
	switch {
	case len(labels) == 2: // SERVICE.NS
		return s.serviceAddresses(ctx, labels[1], labels[0])
	case len(labels) == 3: // ENDPOINT.SERVICE.NS
		return s.endpointAddress(ctx, labels[2], labels[1], labels[0])
	case len(labels) == 4 && strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		return s.serviceLocations(ctx, labels[3], labels[2], labels[0][1:], strings.ToUpper(labels[1][1:]))
	}
	return nil, false, nil
}

// endpoint is a ready endpoint of a Service: its address and its name under the Service.
type endpoint struct {
	ip   netip.Addr
	name string
}

func (s *Server) service(ctx context.Context, ns, name string) (*corev1.Service, []endpoint, []discoveryv1.EndpointPort, error) {
	svc, err := s.client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	slices, err := s.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + name, Limit: 100,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var eps []endpoint
	var ports []discoveryv1.EndpointPort
	for _, sl := range slices.Items {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		ports = append(ports, sl.Ports...)
		for _, e := range sl.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				n := strings.ReplaceAll(a, ".", "-")
				if e.Hostname != nil && *e.Hostname != "" {
					n = *e.Hostname
				}
				eps = append(eps, endpoint{ip: ip, name: n})
			}
		}
	}
	return svc, eps, ports, nil
}

func headless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

func (s *Server) serviceAddresses(ctx context.Context, ns, name string) ([]record, bool, error) {
	svc, eps, _, err := s.service(ctx, ns, name)
	if err != nil {
		return notFound(err)
	}
	if !headless(svc) {
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil {
			return nil, true, nil
		}
		return []record{{ip: ip}}, true, nil
	}
	var recs []record
	for _, e := range eps {
		recs = append(recs, record{ip: e.ip})
	}
	return recs, true, nil
}

func (s *Server) endpointAddress(ctx context.Context, ns, service, name string) ([]record, bool, error) {
	svc, eps, _, err := s.service(ctx, ns, service)
	if err != nil {
		return notFound(err)
	}
	if !headless(svc) {
		return nil, false, nil
	}
	for _, e := range eps {
		if e.name == name {
			return []record{{ip: e.ip}}, true, nil
		}
	}
	return nil, false, nil
}

func (s *Server) serviceLocations(ctx context.Context, ns, service, port, proto string) ([]record, bool, error) {
	svc, eps, ports, err := s.service(ctx, ns, service)
	if err != nil {
		return notFound(err)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name != port || string(p.Protocol) != proto {
			continue
		}
		base := service + "." + ns + ".svc." + Domain
		if !headless(svc) {
			return []record{{target: base, port: uint16(p.Port)}}, true, nil
		}
		var number uint16
		for _, ep := range ports {
			if ep.Name != nil && *ep.Name == port && ep.Port != nil {
				number = uint16(*ep.Port)
			}
		}
		if number == 0 {
			return nil, true, nil
		}
		var recs []record
		for _, e := range eps {
			recs = append(recs, record{target: e.name + "." + base, port: number})
		}
		return recs, true, nil
	}
	return nil, false, nil
}

// notFound turns a missing Service into a name that does not exist, and passes other errors on.
func notFound(err error) ([]record, bool, error) {
	var status interface{ Status() metav1.Status }
	if errors.As(err, &status) && status.Status().Code == 404 {
		return nil, false, nil
	}
	return nil, false, err
}
