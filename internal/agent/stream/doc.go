// Package stream implements the server side of the Kubernetes streaming
// protocols the node agent must speak so that an unmodified kubectl can run
// `kubectl exec [-it]`, `kubectl attach [-it]` and `kubectl port-forward`:
//
//   - exec and attach over WebSocket (v5.channel.k8s.io,
//     v4.channel.k8s.io), which kubectl 1.30+ tries first;
//   - exec and attach over SPDY/3.1 (X-Stream-Protocol-Version v4..v1),
//     the fallback;
//   - port-forward over SPDY/3.1 (portforward.k8s.io), both plain and
//     tunneled inside a WebSocket (SPDY/3.1+portforward.k8s.io).
//
// The package knows nothing about pods or how processes run: callers pass
// an Executor (run a command with the given streams), an Attacher
// (connect the streams to a running container) or a dial function
// (connect to a port of the pod). CmdExecutor adapts an *exec.Cmd builder
// into an Executor, including a pseudo-terminal for tty sessions.
//
// It may import the standard library, k8s.io/api, k8s.io/apimachinery,
// k8s.io/client-go (for shared types and the tunneling net.Conn),
// github.com/gorilla/websocket and golang.org/x/sys. It must not import
// other skiff packages.
package stream
