// Package controllertest helps controller tests that run against a real
// skiff API server (internal/testserver): Node plays the part of the
// scheduler and kubelet that do not exist yet — it binds pending pods to a
// node through pods/binding, marks them Running and Ready through
// pods/status, and finishes graceful deletions — so that ReplicaSets and
// Deployments make progress.
//
// Test-only support code; it imports client-go and nothing of skiff.
package controllertest
