package main

import "testing"

func TestAgentNodeIP(t *testing.T) {
	for _, tc := range []struct {
		nodeIP, listen, want string
		guessed, err         bool
	}{
		{"", "127.0.0.1:10250", "127.0.0.1", false, false},
		{"", "127.0.0.5:0", "127.0.0.5", false, false},
		{"", "0.0.0.0:10250", "127.0.0.1", true, false},
		{"", ":10250", "127.0.0.1", true, false},
		{"", "[::1]:10250", "::1", false, false},
		{"", "localhost:10250", "127.0.0.1", true, false},
		{"", "", "127.0.0.1", true, false},
		{"127.0.0.9", "0.0.0.0:10250", "127.0.0.9", false, false},
		{"not-an-ip", "", "", false, true},
		{"0.0.0.0", "", "", false, true},
		{"", "no-port", "", false, true},
	} {
		got, guessed, err := agentNodeIP(tc.nodeIP, tc.listen)
		if got != tc.want || guessed != tc.guessed || (err != nil) != tc.err {
			t.Errorf("agentNodeIP(%q, %q) = %q, guessed %v, %v; want %q, %v, error %v", tc.nodeIP, tc.listen, got, guessed, err, tc.want, tc.guessed, tc.err)
		}
	}
}
