package kubetest

import (
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Binary names of the control plane beyond the API server, built by hack/install-k8s.sh.
const (
	controllerManagerBinary = "kube-controller-manager"
	schedulerBinary         = "kube-scheduler"
)

// StartControllers starts kube-controller-manager (every controller: Deployments, StatefulSets,
// EndpointSlices, the persistent volume binder, node lifecycle, ...) and kube-scheduler against
// the cluster, as the admin, and waits until both answer /healthz. Without them a cluster only
// stores objects; with them (and a node agent, see StartNodeAgent) workloads get pods, pods get
// nodes, and Services get endpoints. They stop with the cluster.
func (c *Cluster) StartControllers(t testing.TB) {
	t.Helper()
	for _, bin := range []string{controllerManagerBinary, schedulerBinary} {
		if err := checkBinary(c.bin, bin); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := c.Kubeconfig(Admin)
	common := []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
	}
	kcm, err := c.spawnLogged(controllerManagerBinary, controllerManagerBinary+".log", nil, append(common,
		"--secure-port="+strconv.Itoa(ports[0]),
		"--cert-dir="+filepath.Join(c.dir, "kcm-certs"),
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+filepath.Join(c.dir, "sa.key"),
		"--root-ca-file="+filepath.Join(c.dir, "certs", "apiserver.crt"),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := c.spawnLogged(schedulerBinary, schedulerBinary+".log", nil, append(common,
		"--secure-port="+strconv.Itoa(ports[1]),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	// Their serving certificates are self-signed; /healthz needs no credentials.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a self-signed local test server
	}}
	for i, p := range []*process{kcm, sched} {
		url := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])) + "/healthz"
		if err := waitFor(p, client, nil, url, ""); err != nil {
			t.Fatalf("kubetest: %v\n%s", err, tail(p.logPath))
		}
	}
}

// RoutePodRange lets what the API server sends to addresses in cidr (pods, Services' endpoints)
// go to those addresses as they are. Use it when the test runs where they are local addresses,
// such as inside a network namespace of its own (see the netns package).
func (c *Cluster) RoutePodRange(cidr string) {
	_, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		panic("kubetest: RoutePodRange: " + err.Error())
	}
	c.podNet.mu.Lock()
	defer c.podNet.mu.Unlock()
	c.podNet.direct = append(c.podNet.direct, ipnet)
}
