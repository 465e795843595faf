// Package kubectlinit keeps the embedded kubectl's start-up cost out of
// the other subcommands. kubectl's packages translate their help texts
// while they are initialized, and the first translation loads the whole
// message catalog (about 50 ms and 4 MB). This package is initialized
// before them (it imports only kubectl's i18n package, and its import path
// sorts first), and, unless the process is `skiff kubectl`, replaces the
// catalog loader by one that loads nothing: untranslated texts are the
// English originals, which is what a server logs anyway.
//
// Import it for its side effect from package main only.
package kubectlinit

import (
	"os"

	"k8s.io/kubectl/pkg/util/i18n"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "kubectl" {
		return
	}
	i18n.LoadTranslationsFunc = func() error { return nil }
}
