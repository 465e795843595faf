// Package storagetest is the contract suite every storage.Interface
// implementation runs, and helpers that give tests a real embedded etcd.
//
// # Basics
//
//	func TestContract(t *testing.T) {
//		storagetest.RunTests(t, func(t *testing.T) storage.Interface {
//			return etcd3.New(storagetest.NewEtcd(t))
//		})
//	}
//
// The suite writes only keys under Prefix (and, for pass-through checks,
// OtherPrefix); a caching store under test should cache Prefix. Every
// subtest asks for a fresh store and expects it empty under both prefixes.
//
// # Imports
//
// The standard library, testing, storage and storage/embedetcd. Only test
// code may import this package.
package storagetest
