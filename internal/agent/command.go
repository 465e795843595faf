package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// defaultPath is the PATH a container gets when it sets none, as an image
// usually does.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolve builds what runs for c: the executable, its arguments and its
// environment, with $(VAR) expanded in command and args.
func (w *podWorker) resolve(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (path string, args, env []string, err error) {
	svc, err := w.a.servicesEnv(ctx, pod)
	if err != nil {
		return "", nil, nil, fmt.Errorf("service environment: %w", err)
	}
	src := &envSource{pod: pod, podIP: w.st.IP, hostIP: w.a.cfg.HostIP, allocated: w.a.allocated, client: w.a.client,
		base: append(w.volumeEnv(c), svc...)}
	vars, err := src.containerEnv(ctx, c)
	if err != nil {
		return "", nil, nil, err
	}
	vals := map[string]string{}
	for _, v := range vars {
		vals[v.name] = v.value
		env = append(env, v.name+"="+v.value)
	}
	if _, ok := vals["PATH"]; !ok {
		env = append(env, "PATH="+defaultPath)
	}
	if _, ok := vals["HOSTNAME"]; !ok {
		env = append(env, "HOSTNAME="+pod.Name)
	}
	lookup := mapLookup(vals)
	var argv []string
	for _, s := range c.Command {
		argv = append(argv, expand(s, lookup))
	}
	for _, s := range c.Args {
		args = append(args, expand(s, lookup))
	}
	if len(argv) == 0 {
		alias := w.a.alias(c.Image)
		switch {
		case alias != "":
			// The alias stands for the image's entrypoint.
			return alias, args, env, nil
		case len(args) > 0:
			// An image without an alias is taken as one without an
			// ENTRYPOINT, as most base images (busybox, alpine, debian)
			// are: its args are the command (kubectl run IMAGE -- sh -c
			// ... puts the command in args).
			argv, args = args, nil
		default:
			return "", nil, nil, &configError{fmt.Sprintf(
				"container %q has no command and image %q has no alias: give it a command, or map the image to a program with --image-alias %s=/path/to/program",
				c.Name, c.Image, imageName(c.Image))}
		}
	}
	pathEnv := defaultPath
	if p, ok := vals["PATH"]; ok {
		pathEnv = p
	}
	return lookPath(argv[0], pathEnv), append(argv[1:], args...), env, nil
}

// alias finds the executable an image maps to: by the exact reference,
// then without digest and tag.
func (a *Agent) alias(image string) string {
	if image == "" {
		return ""
	}
	if p, ok := a.cfg.ImageAliases[image]; ok {
		return p
	}
	return a.cfg.ImageAliases[imageName(image)]
}

// lookPath finds name in the container's PATH; a name that is not found
// is returned as is, and starting it fails with a clear error.
func lookPath(name, pathEnv string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}
