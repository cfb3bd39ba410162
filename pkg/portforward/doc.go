// Package portforward reaches a team's Prometheus inside the cluster in one of two ways: a
// port-forward to one of its pods, as kubectl port-forward svc/... does, or the API server's
// service proxy.
//
// [Resolve] follows the team's Service (named by [manifests.ServiceName], port
// [manifests.WebPortName]) to the pods its selector picks, ranks them as kubectl port-forward
// does and maps the Service port to a container port. A [Forwarder] binds a fixed local port and
// forwards it to that pod through a [Dialer] ([KubeDialer]: SPDY over a WebSocket first, plain
// SPDY as fallback), watches the pod and moves to another one, with backoff, when it goes away.
// [ServiceProxyURL] is the alternative that needs no pod access.
//
// [Check] asks the API server beforehand whether the user holds what a way needs
// ([PortForwardRequirement], [ServiceProxyRequirement]); a lack is a [*PermissionError] that
// lists the missing permissions and the kubectl commands that grant them. A missing stack is a
// [*NoStackError], a stack without a ready pod a [*NoReadyPodError].
package portforward
