// Package proxy is skiff's service dataplane in userspace: what kube-proxy
// does, done with sockets instead of kernel rules.
//
// For every Service with a ClusterIP (not headless, not ExternalName) and
// each of its ports it listens on clusterIP:port (TCP or UDP, as the port
// says) and, for NodePort and LoadBalancer services, on nodeIP:nodePort for
// each configured node IP. Each accepted TCP connection, and each UDP
// client address, is forwarded to one endpoint of the service's
// EndpointSlices at endpointIP:port (the slice port with the service port's
// name). In host network mode ClusterIPs and node IPs are loopback
// addresses, which Linux lets any process bind without setup.
//
// # Endpoint choice
//
// As kube-proxy: the ready endpoints (conditions.ready, nil meaning
// ready); when none is ready, the serving and terminating ones
// (ProxyTerminatingEndpoints); with internalTrafficPolicy or
// externalTrafficPolicy Local (and Config.NodeName set), only those on
// this node. Connections are spread round robin; sessionAffinity ClientIP
// keeps a client IP on one endpoint until it has been idle for
// timeoutSeconds (default 10800). A failed connect is retried on another
// endpoint, up to Config.DialAttempts endpoints. A service with no usable
// endpoint refuses at once: TCP connections are reset (linger 0), UDP
// datagrams dropped.
//
// # Updates
//
// Informer events queue the service's key; one worker recomputes that
// service's plan (plan.go, pure) and applies only the difference: listeners
// opened, closed or pointed at another balancer, endpoint lists swapped
// atomically. Endpoints that leave get no new connections from that moment;
// connections already open keep running until either side closes them
// (drain). UDP associations to an endpoint that left are dropped, so the
// client's next datagram picks a live endpoint (kube-proxy clears conntrack
// for the same reason). A listener that cannot bind (address taken,
// privileged port) is retried with backoff; a listener whose address is one
// of its own endpoints (a server bound on the virtual IP itself, as cluster
// DNS is when run as root) is not opened.
//
// # Data path
//
// TCP on Linux (tcp_linux.go, tcpconn_linux.go): a few event loops, one
// goroutine each, own raw non-blocking sockets in an epoll set (itself
// parked in Go's poller); each listener belongs to one loop, which
// accepts, connects and copies with read/write through one buffer, so
// that a connection costs no goroutine, two small allocations and few
// system calls beyond the kernel's own work for a second TCP connection. A
// half-close is passed on with shutdown(SHUT_WR), a reset or error as a
// reset of both sides; a receiver that cannot keep up makes the loop
// hold what it could not write and stop reading the sender. Elsewhere
// (tcp_other.go): two io.Copy goroutines per connection. UDP: one read
// loop per listener, one connected socket and one reply goroutine per
// client address, closed after Config.UDPIdleTimeout without traffic;
// replies leave from the service address. Run closes every listener and
// connection before it returns.
//
// # Imports
//
// k8s.io packages (client-go informers and listers, the API types) and
// the standard library; nothing of skiff's. It reaches the API only
// through the informer factory it is given.
package proxy
