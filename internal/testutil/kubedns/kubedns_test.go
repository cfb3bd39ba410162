package kubedns

import (
	"context"
	"net"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func resolver(s *Server) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr)
	}}
}

func TestHeadlessServiceRecords(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prom", Namespace: "team"}, Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Ports:     []corev1.ServicePort{{Name: "grpc", Port: 10901, Protocol: corev1.ProtocolTCP}},
		}},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "prom-1", Namespace: "team", Labels: map[string]string{discoveryv1.LabelServiceName: "prom"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To[int32](10901)}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.1.2"}, Hostname: ptr.To("prometheus-a-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"10.244.1.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"10.244.1.4"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			},
		},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "query", Namespace: "team"}, Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.10",
			Ports:     []corev1.ServicePort{{Name: "http", Port: 9090, Protocol: corev1.ProtocolTCP}},
		}},
	)
	s := Start(t, client, "127.0.0.1:0")
	r := resolver(s)
	ctx := context.Background()

	_, srvs, err := r.LookupSRV(ctx, "grpc", "tcp", "prom.team.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, srv := range srvs {
		if srv.Port != 10901 {
			t.Errorf("SRV %s port %d", srv.Target, srv.Port)
		}
		got = append(got, srv.Target)
	}
	slices.Sort(got)
	want := []string{"10-244-1-3.prom.team.svc.cluster.local.", "prometheus-a-0.prom.team.svc.cluster.local."}
	if !slices.Equal(got, want) {
		t.Errorf("SRV targets %v, want %v (ready endpoints only)", got, want)
	}
	for target, ip := range map[string]string{want[0]: "10.244.1.3", want[1]: "10.244.1.2"} {
		addrs, err := r.LookupHost(ctx, target)
		if err != nil || !slices.Equal(addrs, []string{ip}) {
			t.Errorf("%s: %v %v, want %s", target, addrs, err, ip)
		}
	}
	addrs, err := r.LookupHost(ctx, "prom.team.svc.cluster.local")
	slices.Sort(addrs)
	if err != nil || !slices.Equal(addrs, []string{"10.244.1.2", "10.244.1.3"}) {
		t.Errorf("headless Service: %v %v", addrs, err)
	}
	addrs, err = r.LookupHost(ctx, "query.team.svc.cluster.local")
	if err != nil || !slices.Equal(addrs, []string{"10.96.0.10"}) {
		t.Errorf("ClusterIP Service: %v %v", addrs, err)
	}
	_, srvs, err = r.LookupSRV(ctx, "http", "tcp", "query.team.svc.cluster.local")
	if err != nil || len(srvs) != 1 || srvs[0].Target != "query.team.svc.cluster.local." || srvs[0].Port != 9090 {
		t.Errorf("ClusterIP Service SRV: %v %v", srvs, err)
	}
	for _, missing := range []string{"gone.team.svc.cluster.local", "prom.other.svc.cluster.local", "example.com", "nobody.prom.team.svc.cluster.local"} {
		if addrs, err := r.LookupHost(ctx, missing); err == nil {
			t.Errorf("%s resolved to %v, want NXDOMAIN", missing, addrs)
		}
	}
}
