package agent_test

import (
	"os"

	"k8s.io/apimachinery/pkg/api/resource"
)

func resourceMi() resource.Quantity { return resource.MustParse("1Mi") }

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func mustExe() string {
	p, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return p
}
