// Package pki makes and keeps the credentials of a skiff server in its data
// directory: a certificate authority, the API server's serving certificate
// signed by it, the admin bearer token and the node join token, and the
// admin kubeconfig that ties them together.
//
// Everything is generated on first start and reused after; files are
// written atomically (temp file + rename) with owner-only permissions.
// Secrets are never logged.
//
// It imports only the standard library and k8s.io/client-go's kubeconfig
// types.
package pki
