package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/syncbuf"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
        ports:
        - containerPort: 8080
`

const configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
`

// servedKinds are every resource `kubectl get` must list.
var servedKinds = []string{
	"namespaces", "pods", "services", "endpoints", "nodes", "events", "configmaps", "secrets",
	"serviceaccounts", "persistentvolumeclaims", "persistentvolumes", "deployments", "replicasets",
	"statefulsets", "daemonsets", "controllerrevisions", "endpointslices", "leases",
	"events.events.k8s.io", "storageclasses",
}

// TestKubectl drives one server with each kubectl, default flags only.
func TestKubectl(t *testing.T) {
	s := startServer(t, "")
	for _, k := range kubectls(t, s) {
		t.Run(k.name, func(t *testing.T) {
			ns := "e2e-" + k.name
			k.ok(t, "", "create", "namespace", ns)
			t.Run("apply", func(t *testing.T) { testApply(t, k, ns) })
			t.Run("get", func(t *testing.T) { testGet(t, k, ns) })
			t.Run("edit-label-annotate-patch-scale", func(t *testing.T) { testMutations(t, k, ns) })
			t.Run("watch", func(t *testing.T) { testWatch(t, k, ns) })
			t.Run("invalid", func(t *testing.T) { testInvalid(t, k, ns) })
			t.Run("conflict", func(t *testing.T) { testConflict(t, k, ns) })
			t.Run("discovery-explain", func(t *testing.T) { testDiscovery(t, k) })
			t.Run("delete", func(t *testing.T) { testDelete(t, k, ns) })
			t.Run("cascade", func(t *testing.T) { testCascade(t, k, ns) })
			t.Run("namespace-delete", func(t *testing.T) { testNamespaceDelete(t, k, ns) })

		})
	}
}

func testApply(t *testing.T, k *kubectl, ns string) {
	out := k.ok(t, deploymentYAML, "apply", "-n", ns, "-f", "-")
	if !strings.Contains(out, "deployment.apps/web created") {
		t.Fatalf("first apply: %q", out)
	}
	out = k.ok(t, deploymentYAML, "apply", "-n", ns, "-f", "-")
	if !strings.Contains(out, "deployment.apps/web unchanged") {
		t.Fatalf("second apply: %q", out)
	}
	changed := strings.Replace(deploymentYAML, "replicas: 2", "replicas: 3", 1)
	out = k.ok(t, changed, "apply", "-n", ns, "-f", "-")
	if !strings.Contains(out, "deployment.apps/web configured") {
		t.Fatalf("changed apply: %q", out)
	}
	if got := k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Fatalf("replicas after apply = %q, want 3", got)
	}
	out = k.ok(t, configMapYAML, "apply", "--server-side", "-n", ns, "-f", "-")
	if !strings.Contains(out, "configmap/settings serverside-applied") {
		t.Fatalf("server-side apply: %q", out)
	}
	// A second manager changing the same field conflicts, unless forced.
	other := strings.Replace(configMapYAML, "fast", "slow", 1)
	errOut := k.fails(t, other, "apply", "--server-side", "--field-manager=other", "-n", ns, "-f", "-")
	if !strings.Contains(errOut, "conflict") {
		t.Fatalf("conflicting apply: %q", errOut)
	}
	k.ok(t, other, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-n", ns, "-f", "-")
	if got := k.ok(t, "", "get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Fatalf("forced apply: mode = %q", got)
	}
	mf := k.ok(t, "", "get", "cm", "settings", "-n", ns, "-o", "yaml", "--show-managed-fields")
	if !strings.Contains(mf, "manager: other") || !strings.Contains(mf, "operation: Apply") {
		t.Fatalf("managedFields missing the apply manager:\n%s", mf)
	}
}

func testGet(t *testing.T, k *kubectl, ns string) {
	for _, kind := range servedKinds {
		k.ok(t, "", "get", kind, "-A")
	}
	out := k.ok(t, "", "get", "deploy", "-n", ns, "-o", "wide")
	header := lines(out)[0]
	for _, col := range []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"} {
		if !strings.Contains(header, col) {
			t.Fatalf("deployments -o wide header %q lacks %s", header, col)
		}
	}
	if !strings.Contains(out, "registry.example/web:1.0") || !strings.Contains(out, "app=web") {
		t.Fatalf("deployments -o wide:\n%s", out)
	}
	out = k.ok(t, "", "get", "cm", "-A")
	if !regexp.MustCompile(`(?m)^` + ns + `\s+settings\s+1\s+`).MatchString(out) {
		t.Fatalf("get cm -A lacks %s/settings:\n%s", ns, out)
	}
	out = k.ok(t, "", "get", "ns")
	for _, n := range []string{"default", "kube-system", "kube-public", "kube-node-lease", ns} {
		if !regexp.MustCompile(`(?m)^` + n + `\s+Active\s+`).MatchString(out) {
			t.Fatalf("namespace %s not Active:\n%s", n, out)
		}
	}
	out = k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "yaml")
	for _, want := range []string{"apiVersion: apps/v1", "kind: Deployment", "uid:", "resourceVersion:", "generation:", "revisionHistoryLimit: 10", "maxSurge: 25%"} {
		if !strings.Contains(out, want) {
			t.Fatalf("-o yaml lacks %q:\n%s", want, out)
		}
	}
	out = k.ok(t, "", "get", "deploy", "-n", ns, "--show-labels")
	if !strings.Contains(out, "app=web") {
		t.Fatalf("--show-labels:\n%s", out)
	}
	out = k.ok(t, "", "describe", "deploy", "web", "-n", ns)
	for _, want := range []string{"Name:", "web", "Selector:", "app=web", "RollingUpdateStrategy:", "25% max unavailable, 25% max surge"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe lacks %q:\n%s", want, out)
		}
	}
	k.ok(t, "", "get", "events", "-A")
}

func testMutations(t *testing.T, k *kubectl, ns string) {
	k.ok(t, "", "label", "deploy", "web", "-n", ns, "tier=frontend")
	k.ok(t, "", "annotate", "deploy", "web", "-n", ns, "owner=team-a")
	got := k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.metadata.labels.tier} {.metadata.annotations.owner}")
	if got != "frontend team-a" {
		t.Fatalf("label/annotate: %q", got)
	}
	gen := k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.metadata.generation}")
	k.ok(t, "", "patch", "deploy", "web", "-n", ns, "--type=json", "-p", `[{"op":"replace","path":"/spec/replicas","value":4}]`)
	k.ok(t, "", "patch", "deploy", "web", "-n", ns, "--type=merge", "-p", `{"spec":{"minReadySeconds":2}}`)
	k.ok(t, "", "patch", "deploy", "web", "-n", ns, "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2.0"}]}}}}`)
	got = k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas} {.spec.minReadySeconds} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}")
	if got != "4 2 registry.example/web:2.0 8080" {
		t.Fatalf("after patches: %q", got)
	}
	if gen2 := k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.metadata.generation}"); gen2 == gen {
		t.Fatalf("generation did not change on spec patch (still %s)", gen2)
	}
	k.ok(t, "", "scale", "deploy", "web", "-n", ns, "--replicas=5")
	if got := k.ok(t, "", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Fatalf("scale: replicas %q", got)
	}
	// edit with a scripted editor.
	editor := t.TempDir() + "/editor.sh"
	writeFile(t, editor, "#!/bin/sh\nsed -i 's/^  mode: slow$/  mode: edited/' \"$1\"\n", 0o755)
	r := k.runEnv(t, []string{"EDITOR=" + editor, "KUBE_EDITOR=" + editor}, "edit", "cm", "settings", "-n", ns)
	if r.err != nil || !strings.Contains(r.stdout, "edited") {
		t.Fatalf("edit: %v %s %s", r.err, r.stdout, r.stderr)
	}
	if got := k.ok(t, "", "get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}"); got != "edited" {
		t.Fatalf("after edit: mode %q", got)
	}
}

func testWatch(t *testing.T, k *kubectl, ns string) {
	cmd, out := k.start(t, "get", "cm", "-n", ns, "-w")
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "settings") {
			return fmt.Errorf("initial list not printed yet: %q", out.String())
		}
		return nil
	})
	k.ok(t, "", "create", "cm", "watched", "-n", ns, "--from-literal=x=1")
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "watched") {
			return fmt.Errorf("watch did not stream the new configmap: %q", out.String())
		}
		return nil
	})
}

func testInvalid(t *testing.T, k *kubectl, ns string) {
	bad := strings.NewReplacer("name: web\n", "name: Bad_Name\n", "labels: {app: web}\n    spec:", "labels: {app: other}\n    spec:", "image: registry.example/web:1.0", `image: ""`).Replace(deploymentYAML)
	errOut := k.fails(t, bad, "apply", "-n", ns, "-f", "-")
	for _, want := range []string{
		`The Deployment "Bad_Name" is invalid`,
		`metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of`,
		"spec.template.metadata.labels: Invalid value:", "`selector` does not match template `labels`",
		"spec.template.spec.containers[0].image: Required value",
	} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("invalid apply: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if r := k.run(t, "", "get", "deploy", "Bad_Name", "-n", ns); r.err == nil {
		t.Fatalf("invalid deployment was stored")
	}
	unknown := strings.Replace(configMapYAML, "\ndata:", "\nbogus: 1\ndata:", 1)
	errOut = k.fails(t, unknown, "create", "-n", ns, "-f", "-")
	if !strings.Contains(errOut, `unknown field "bogus"`) {
		t.Fatalf("unknown field: %s", errOut)
	}
	errOut = k.fails(t, "", "get", "deploy", "missing", "-n", ns)
	if !strings.Contains(errOut, `Error from server (NotFound): deployments.apps "missing" not found`) {
		t.Fatalf("not found: %s", errOut)
	}
	errOut = k.fails(t, "", "create", "cm", "x", "-n", "no-such-namespace")
	if !strings.Contains(errOut, `namespaces "no-such-namespace" not found`) {
		t.Fatalf("missing namespace: %s", errOut)
	}
}

func testConflict(t *testing.T, k *kubectl, ns string) {
	k.ok(t, "", "create", "cm", "versioned", "-n", ns, "--from-literal=v=1")
	stale := k.ok(t, "", "get", "cm", "versioned", "-n", ns, "-o", "yaml")
	k.ok(t, "", "label", "cm", "versioned", "-n", ns, "bump=1")
	errOut := k.fails(t, strings.Replace(stale, "v: \"1\"", "v: \"2\"", 1), "replace", "-f", "-")
	if !strings.Contains(errOut, "Error from server (Conflict)") || !strings.Contains(errOut, "the object has been modified") {
		t.Fatalf("stale replace: %s", errOut)
	}
}

func testDiscovery(t *testing.T, k *kubectl) {
	out := k.ok(t, "", "api-resources")
	for _, want := range []string{"deployments", "deploy", "apps/v1", "pods", "po", "endpointslices", "leases"} {
		if !strings.Contains(out, want) {
			t.Fatalf("api-resources lacks %q:\n%s", want, out)
		}
	}
	out = k.ok(t, "", "explain", "deployment.spec.strategy")
	if !strings.Contains(out, "rollingUpdate") || !strings.Contains(out, "KIND:") {
		t.Fatalf("explain:\n%s", out)
	}
	out = k.ok(t, "", "version")
	if !strings.Contains(out, "Server Version: v1.37") {
		t.Fatalf("version:\n%s", out)
	}
}

// testCascade deletes Deployments with each cascade mode and checks what
// happens to their ReplicaSets and Pods, as on Kubernetes.
func testCascade(t *testing.T, k *kubectl, ns string) {
	for _, mode := range []string{"background", "foreground", "orphan"} {
		name := "casc-" + mode
		k.ok(t, "", "create", "deployment", name, "-n", ns, "--image=registry.example/web:1.0", "--replicas=2")
		sel := "app=" + name
		eventually(t, 20*time.Second, func() error {
			if n := len(lines(k.ok(t, "", "get", "pods", "-n", ns, "-l", sel, "-o", "name"))); n != 2 {
				return fmt.Errorf("%d pods", n)
			}
			return nil
		})
		k.ok(t, "", "delete", "deployment", name, "-n", ns, "--cascade="+mode)
		if r := k.run(t, "", "get", "deployment", name, "-n", ns); r.err == nil {
			t.Fatalf("%s: deployment still there after delete returned", mode)
		}
		switch mode {
		case "orphan":
			// The ReplicaSet and its pods stay, without an owner.
			time.Sleep(500 * time.Millisecond)
			rs := k.ok(t, "", "get", "rs", "-n", ns, "-l", sel, "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences}{end}")
			if strings.TrimSpace(rs) == "" || strings.Contains(rs, "Deployment") {
				t.Fatalf("orphan: replicaset %q", rs)
			}
			if n := len(lines(k.ok(t, "", "get", "pods", "-n", ns, "-l", sel, "-o", "name"))); n != 2 {
				t.Fatalf("orphan: %d pods left, want 2", n)
			}
			k.ok(t, "", "delete", "rs", "-n", ns, "-l", sel)
		default:
			eventually(t, 20*time.Second, func() error {
				out := k.ok(t, "", "get", "rs,pods", "-n", ns, "-l", sel, "-o", "name")
				if strings.TrimSpace(out) != "" {
					return fmt.Errorf("dependents left: %s", out)
				}
				return nil
			})
		}
	}
}

// testNamespaceDelete deletes a namespace with content.
func testNamespaceDelete(t *testing.T, k *kubectl, ns string) {
	doomed := ns + "-doomed"
	k.ok(t, "", "create", "namespace", doomed)
	k.ok(t, "", "create", "cm", "a", "-n", doomed)
	k.ok(t, "", "create", "deployment", "d", "-n", doomed, "--image=registry.example/web:1.0")
	k.ok(t, "", "delete", "namespace", doomed)
	if r := k.run(t, "", "get", "namespace", doomed); r.err == nil {
		t.Fatalf("namespace still there after delete returned: %s", r.stdout)
	}
	errOut := k.fails(t, "", "create", "cm", "b", "-n", doomed)
	if !strings.Contains(errOut, "not found") {
		t.Fatalf("create in deleted namespace: %s", errOut)
	}
}

func testDelete(t *testing.T, k *kubectl, ns string) {

	k.ok(t, "", "create", "cm", "doomed", "-n", ns, "--from-literal=a=b")
	cmd, _ := k.start(t, "wait", "--for=delete", "cm/doomed", "-n", ns, "--timeout=30s")
	k.ok(t, "", "delete", "cm", "doomed", "-n", ns)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait --for=delete: %v", err)
	}
	if r := k.run(t, "", "get", "cm", "doomed", "-n", ns); r.err == nil {
		t.Fatalf("deleted configmap still there")
	}
}

// start runs kubectl in the background, collecting its output.
func (k *kubectl) start(t *testing.T, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	t.Helper()
	argv := append(append([]string{}, k.argv...), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cmdEnv(), "KUBECONFIG="+k.kc, "KUBECACHEDIR="+k.cacheDir, "HOME="+k.cacheDir)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kubectl: %v", err)
	}
	return cmd, out
}

// runEnv is run with extra environment variables.
func (k *kubectl) runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	saved := k.extraEnv
	k.extraEnv = env
	defer func() { k.extraEnv = saved }()
	return k.run(t, "", args...)
}
