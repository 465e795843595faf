package replicaset

// GetCondition for the external (integration) tests, which cannot be in
// package replicaset: testserver imports controlplane, which imports it.
var GetCondition = getCondition
