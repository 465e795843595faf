// Package embedetcd runs a single-member etcd server inside the skiff
// process, with all of its state in one data directory.
//
// # Basics
//
//	srv, err := embedetcd.Start(ctx, embedetcd.Config{Dir: dir, Logger: log})
//	...
//	defer srv.Close()
//	cli := srv.Client() // a clientv3.Client connected to it
//
// # Invariants
//
//   - Two servers on one machine never collide: the client listener is a
//     unix socket inside Dir (falling back to a free 127.0.0.1 port when the
//     socket path is too long), and the peer listener, which a single member
//     never dials, is bound to an ephemeral 127.0.0.1 port.
//   - A data directory is used by at most one server at a time (a lock file
//     in Dir is held while the server runs).
//   - Restarting on the same Dir keeps every key and the revision keeps
//     increasing. etcd fsyncs its WAL, so a SIGKILL loses no acknowledged
//     write.
//   - etcd's own zap log is routed to the given slog.Logger at error level
//     only, unless Config.LogLevel says otherwise.
//
// # Imports
//
// The standard library, go.etcd.io/etcd/{server,client} and go.uber.org/zap
// (etcd's logger, adapted to slog here).
package embedetcd
