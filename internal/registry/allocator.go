package registry

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/skiff-dev/skiff/internal/storage"
)

// Allocation keys: one key per allocated ClusterIP and NodePort, created
// if absent, so that two concurrent creates can never get the same value
// (etcd decides), on any number of API servers.
const (
	ipKeyPrefix   = "/registry/skiff/serviceips/"
	portKeyPrefix = "/registry/skiff/nodeports/"
)

// Errors of the allocators; the service hooks turn them into the field
// errors Kubernetes answers.
var (
	errNotInRange = errors.New("not in the valid range")
	errAllocated  = errors.New("already allocated")
	errFull       = errors.New("range is full")
)

// ipAllocator hands out addresses of the service CIDR.
type ipAllocator struct {
	store storage.Interface
	cidr  netip.Prefix
	// first and size: the usable addresses (the network address and, for
	// IPv4, the broadcast address are never handed out).
	first netip.Addr
	size  int64
}

func newIPAllocator(st storage.Interface, cidr netip.Prefix) (*ipAllocator, error) {
	cidr = cidr.Masked()
	bits := cidr.Addr().BitLen() - cidr.Bits()
	if bits < 2 || bits > 62 {
		return nil, fmt.Errorf("service CIDR %s: need between 2 and 62 host bits", cidr)
	}
	size := int64(1)<<bits - 2
	return &ipAllocator{store: st, cidr: cidr, first: cidr.Addr().Next(), size: size}, nil
}

// nth is the n-th usable address (0-based).
func (a *ipAllocator) nth(n int64) netip.Addr {
	b := new(big.Int).SetBytes(a.first.AsSlice())
	b.Add(b, big.NewInt(n))
	raw := b.FillBytes(make([]byte, a.first.BitLen()/8))
	addr, _ := netip.AddrFromSlice(raw)
	return addr
}

// Allocate reserves ip (or any free address when ip is "") for owner.
func (a *ipAllocator) Allocate(ctx context.Context, ip, owner string) (string, error) {
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !a.cidr.Contains(addr) || addr == a.cidr.Addr() || addr.Compare(a.nth(a.size-1)) > 0 {
			return "", errNotInRange
		}
		if err := a.take(ctx, addr.String(), owner); err != nil {
			return "", err
		}
		return addr.String(), nil
	}
	// A random start and a linear probe: few collisions while the range is
	// mostly free, and every address is tried before giving up. The first
	// addresses are tried last: they are the ones people request by hand
	// (the kubernetes service takes the first, DNS often the tenth).
	start := rand.Int64N(a.size)
	for i := int64(0); i < a.size; i++ {
		addr := a.nth((start + i) % a.size).String()
		err := a.take(ctx, addr, owner)
		if err == nil {
			return addr, nil
		}
		if !errors.Is(err, errAllocated) {
			return "", err
		}
		if i > 4096 {
			break
		}
	}
	return "", errFull
}

func (a *ipAllocator) take(ctx context.Context, ip, owner string) error {
	_, err := a.store.Create(ctx, ipKeyPrefix+ip, []byte(owner))
	if errors.Is(err, storage.ErrExists) {
		return errAllocated
	}
	return err
}

// Release frees ip; releasing a free address is not an error.
func (a *ipAllocator) Release(ctx context.Context, ip string) error {
	if ip == "" {
		return nil
	}
	_, _, err := a.store.Delete(ctx, ipKeyPrefix+ip, 0)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// portAllocator hands out NodePorts of a range, per protocol.
type portAllocator struct {
	store       storage.Interface
	base, count int
}

func (p *portAllocator) key(proto string, port int) string {
	return portKeyPrefix + proto + "/" + strconv.Itoa(port)
}

// Allocate reserves port (or a free one when port is 0) for owner.
func (p *portAllocator) Allocate(ctx context.Context, proto string, port int, owner string) (int, error) {
	if port != 0 {
		if port < p.base || port >= p.base+p.count {
			return 0, errNotInRange
		}
		if err := p.take(ctx, proto, port, owner); err != nil {
			return 0, err
		}
		return port, nil
	}
	start := rand.IntN(p.count)
	for i := 0; i < p.count; i++ {
		port := p.base + (start+i)%p.count
		err := p.take(ctx, proto, port, owner)
		if err == nil {
			return port, nil
		}
		if !errors.Is(err, errAllocated) {
			return 0, err
		}
	}
	return 0, errFull
}

func (p *portAllocator) take(ctx context.Context, proto string, port int, owner string) error {
	_, err := p.store.Create(ctx, p.key(proto, port), []byte(owner))
	if errors.Is(err, storage.ErrExists) {
		return errAllocated
	}
	return err
}

// Release frees a port; releasing a free port is not an error.
func (p *portAllocator) Release(ctx context.Context, proto string, port int) error {
	if port == 0 {
		return nil
	}
	_, _, err := p.store.Delete(ctx, p.key(proto, port), 0)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
