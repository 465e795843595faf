package main

import "testing"

func TestAgentNodeIP(t *testing.T) {
	for _, tc := range []struct {
		nodeIP, listen, want string
		err                  bool
	}{
		{"", "127.0.0.1:10250", "127.0.0.1", false},
		{"", "127.0.0.5:0", "127.0.0.5", false},
		{"", "0.0.0.0:10250", "127.0.0.1", false},
		{"", ":10250", "127.0.0.1", false},
		{"", "[::1]:10250", "::1", false},
		{"", "localhost:10250", "127.0.0.1", false},
		{"", "", "127.0.0.1", false},
		{"127.0.0.9", "0.0.0.0:10250", "127.0.0.9", false},
		{"not-an-ip", "", "", true},
		{"0.0.0.0", "", "", true},
		{"", "no-port", "", true},
	} {
		got, err := agentNodeIP(tc.nodeIP, tc.listen)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("agentNodeIP(%q, %q) = %q, %v; want %q, error %v", tc.nodeIP, tc.listen, got, err, tc.want, tc.err)
		}
	}
}
