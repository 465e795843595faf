package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/rand"
)

// computeHash is Kubernetes' controller.ComputeHash: the FNV-32a hash of
// the template printed as Kubernetes' DeepHashObject prints it (spew with
// sorted keys, no pointer addresses), followed by collisionCount as eight
// little-endian bytes when set, rendered in decimal and mapped onto safe
// alphanumerics. Names therefore match those a real cluster would give the
// same template.
func computeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
