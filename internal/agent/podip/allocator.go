package podip

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrFull is returned when every address of the range is in use.
var ErrFull = errors.New("no free pod address")

// Allocator hands out addresses of one prefix.
type Allocator struct {
	prefix netip.Prefix
	dir    string

	mu   sync.Mutex
	next netip.Addr // where the next search starts, so that freed addresses are not reused at once
}

// New returns an allocator of prefix (IPv4, at most 2^16 addresses) that
// keeps its allocations in dir.
func New(prefix netip.Prefix, dir string) (*Allocator, error) {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() || prefix.Bits() < 16 || prefix.Bits() > 30 {
		return nil, fmt.Errorf("pod cidr %s: want an IPv4 prefix from /16 to /30", prefix)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pod address dir: %w", err)
	}
	return &Allocator{prefix: prefix, dir: dir, next: first(prefix)}, nil
}

// Prefix is the range addresses come from.
func (a *Allocator) Prefix() netip.Prefix { return a.prefix }

func first(p netip.Prefix) netip.Addr { return p.Addr().Next().Next() }

func last(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := 32 - p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<host - 1
	v-- // not the broadcast address
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Allocate returns the address owned by owner, allocating one if owner
// has none yet.
func (a *Allocator) Allocate(owner string) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.lookup(owner); ok {
		return ip, nil
	}
	lo, hi := first(a.prefix), last(a.prefix)
	ip := a.next
	if !a.prefix.Contains(ip) || ip.Compare(hi) > 0 || ip.Compare(lo) < 0 {
		ip = lo
	}
	for range 1 << (32 - a.prefix.Bits()) {
		f, err := os.OpenFile(filepath.Join(a.dir, ip.String()), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.WriteString(owner)
			cerr := f.Close()
			if err := errors.Join(werr, cerr); err != nil {
				os.Remove(f.Name())
				return netip.Addr{}, fmt.Errorf("record pod address: %w", err)
			}
			a.next = ip.Next()
			return ip, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return netip.Addr{}, fmt.Errorf("record pod address: %w", err)
		}
		if ip = ip.Next(); ip.Compare(hi) > 0 {
			ip = lo
		}
	}
	return netip.Addr{}, ErrFull
}

// Lookup returns the address owner holds.
func (a *Allocator) Lookup(owner string) (netip.Addr, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lookup(owner)
}

func (a *Allocator) lookup(owner string) (netip.Addr, bool) {
	all, _ := a.list()
	for ip, o := range all {
		if o == owner {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// List returns every allocation: address → owner.
func (a *Allocator) List() (map[netip.Addr]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.list()
}

func (a *Allocator) list() (map[netip.Addr]string, error) {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("list pod addresses: %w", err)
	}
	out := map[netip.Addr]string{}
	for _, e := range ents {
		ip, err := netip.ParseAddr(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.dir, e.Name()))
		if err != nil {
			continue
		}
		out[ip] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// Release frees what owner holds; releasing nothing is not an error.
func (a *Allocator) Release(owner string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	all, err := a.list()
	if err != nil {
		return err
	}
	for ip, o := range all {
		if o == owner {
			if err := os.Remove(filepath.Join(a.dir, ip.String())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("release pod address %s: %w", ip, err)
			}
		}
	}
	return nil
}

// DefaultPrefix derives a node's /24 inside 127.64.0.0/10 from key (the
// node name and data dir), so that two agents on one machine almost never
// share a range, and a range is never 127.0.0.0/24 (where the host's own
// 127.0.0.1 lives).
func DefaultPrefix(key string) netip.Prefix {
	h := fnv.New32a()
	h.Write([]byte(key))
	v := h.Sum32()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(64 + v%64), byte(v >> 8), 0}), 24)
}
