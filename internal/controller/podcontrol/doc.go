// Package podcontrol creates and deletes the pods a workload controller
// owns, recording the events Kubernetes records for it (SuccessfulCreate,
// FailedCreate, SuccessfulDelete, FailedDelete), and answers the questions
// controllers ask about a pod: active, terminating, ready, available.
//
// It imports only k8s.io packages (api, apimachinery, client-go); it talks
// to the API through a kubernetes.Interface and never caches anything.
package podcontrol
