// Package runtime is skiff's process runtime: it runs one container as a
// host process group, writes its stdout and stderr to a log file in the
// CRI log format (and hands them, live, to attached clients), gives it a
// stdin pipe or a terminal when asked, and notices the moment the
// process exits.
//
// # Processes
//
// [Start] executes a container's program in a new process group (the
// group id is the leader's pid). When the leader exits, the whole group is
// killed, as a container's processes die with its PID 1. [Adopt] re-attaches
// to a process started by an earlier agent (the agent restarted, the pods
// did not): the exit is noticed through a pidfd, but the exit code of a
// process that is not our child cannot be known.
//
// # Mounts
//
// A Spec with Mounts (root only) runs in a new mount namespace: Start
// executes the agent's own binary with a marker variable, in a new mount
// namespace; that copy (see init in mounts.go) makes the bind mounts and
// execs the container's program, which keeps the pid. Mounts never
// reach the host's namespace.
//
// # Control groups
//
// A Spec with CgroupProcs runs through the same shim (without a new mount
// namespace when there are no mounts): it writes its pid to each
// cgroup.procs file right before it execs, so the program starts inside
// the container's groups and the shim's own memory is not charged there.
//
// # Logs
//
// The streams go through named pipes in the container's directory, not
// anonymous pipes, so that a process outlives the agent: the child holds
// its pipe open for reading and writing, so it never gets SIGPIPE while no
// agent reads; it blocks only when it writes more than the pipe buffer
// (64 KiB) while no agent runs. The next agent reopens the pipes and
// carries on. Each line is written as
//
//	2006-01-02T15:04:05.000000000Z stdout F text
//
// (P instead of F for a part of a line longer than 16 KiB), which
// [ParseLogLine] parses back for pods/log. [Process.Subscribe] gets the
// output as it is read, before it is cut into lines, for kubectl attach.
//
// # Input and terminals
//
// A Spec with Stdin gets a stdin pipe in the same directory, written to
// through [Process.OpenStdin]; who holds it open between writers (the
// child itself, or a holder process for StdinOnce until
// [Process.CloseStdin]) is told in stdin.go. A Spec with TTY runs under a
// console shim (console.go) that stays, holding the pseudo-terminal,
// relaying the stdin pipe into it and its output to the stdout pipe, and
// applying [Process.Resize]. Both are this binary again, like the mount
// shim, and both outlive the agent.
//
// This package imports the standard library, golang.org/x/sys, and
// skiff's pty and memtrim packages (which import no more than that).
package runtime
