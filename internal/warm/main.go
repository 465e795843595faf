package main

import (
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/api/apps/v1"
	_ "k8s.io/apimachinery/pkg/util/managedfields"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/applyconfigurations"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kube-openapi/pkg/handler3"
	_ "k8s.io/kube-openapi/pkg/spec3"
)

func main() {}
