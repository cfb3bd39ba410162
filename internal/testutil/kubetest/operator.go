package kubetest

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// operatorBinary is the Prometheus Operator, built by hack/install-operator.sh.
const operatorBinary = "prometheus-operator"

// Operator is the Prometheus Operator running against a cluster.
type Operator struct {
	cluster *Cluster
	args    []string
	env     []string
	addr    string
	restart int
	proc    *process
}

// StartOperator starts the Prometheus Operator (cmd/operator of the version hack/install-operator.sh
// builds) against the cluster as the admin, watching every namespace, and waits until it answers
// /healthz. The cluster needs the operator's CRDs (InstallCRDs) first; for the StatefulSets it
// writes to get pods, StartControllers and a node agent. It stops with the cluster.
func (c *Cluster) StartOperator(t testing.TB) *Operator {
	t.Helper()
	if err := checkBinary(c.bin, operatorBinary); err != nil {
		t.Fatalf("%v (hack/install-operator.sh builds it)", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	o := &Operator{
		cluster: c,
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		// The operator has no --kubeconfig flag; it reads KUBECONFIG.
		env: []string{"KUBECONFIG=" + c.Kubeconfig(Admin)},
	}
	o.args = []string{"--web.listen-address=" + o.addr, "--log-level=info"}
	o.Start(t)
	return o
}

// Start starts the operator after Stop.
func (o *Operator) Start(t testing.TB) {
	t.Helper()
	o.restart++
	name := operatorBinary + ".log"
	if o.restart > 1 {
		name = operatorBinary + "." + strconv.Itoa(o.restart) + ".log"
	}
	var err error
	if o.proc, err = o.cluster.spawnLogged(operatorBinary, name, o.env, o.args...); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(o.proc, &http.Client{Timeout: 5 * time.Second}, nil, "http://"+o.addr+"/healthz", ""); err != nil {
		t.Fatalf("kubetest: %v\n%s", err, tail(o.proc.logPath))
	}
}

// Stop stops the operator: nothing reconciles the Prometheus resources until Start.
func (o *Operator) Stop() { o.proc.stop() }

// Log returns the end of the operator's log.
func (o *Operator) Log() string { return tail(o.proc.logPath) }
