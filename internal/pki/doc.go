// Package pki makes and keeps the credentials of a skiff server in its data
// directory: a certificate authority, the API server's serving certificate
// signed by it, the admin bearer token and the node join token, and the
// admin kubeconfig that ties them together.
//
// It also holds the credentials of the API server → node agent link (see
// kubelet.go): the API server's client certificate (KubeletClientName),
// the node agent's self-signed serving certificate
// (LoadOrCreateSelfSigned) and the fingerprint pin that replaces a CA for
// it (Fingerprint, VerifyPinned, ServingCertAnnotation).
//
// Everything is generated on first start and reused after; files are
// written atomically (temp file + rename) with owner-only permissions.
// Secrets are never logged.
//
// It imports only the standard library and k8s.io/client-go's kubeconfig
// types.
package pki
