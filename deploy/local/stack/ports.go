package stack

import (
	"fmt"
	"net"
	"strconv"
)

// dialHost returns the address to reach an engine bound to listen: the address itself,
// or loopback for a wildcard.
func dialHost(listen string) string {
	if ip := net.ParseIP(listen); ip == nil || ip.IsUnspecified() {
		return loopback
	}
	return listen
}

// freePort asks the kernel for a free loopback port. The port is released
// before the engine binds it, so another process could take it in between;
// that rare race surfaces as a bind error from Start.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPort returns port, or a free port when it is 0, after making sure it
// can be bound on loopback, so a busy port fails with a clear error rather
// than an engine that never answers.
func checkPort(host string, port int) (int, error) {
	if port == 0 {
		return freePort(host)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("port %d: %w", port, err)
	}
	l.Close()
	return port, nil
}
