// Package bench holds skiff's reproducible benchmarks. The command
// bench/cmd/skiffbench builds nothing itself: it starts the skiff binary
// given with -skiff (or builds one), measures start-up, memory and API
// latencies over loopback, and prints a Markdown report for
// docs/benchmarks.md. Every loop is bounded in count and time.
package bench
