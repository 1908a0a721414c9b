package stack

import (
	"fmt"
	"net"
)

// freePort asks the kernel for a free loopback port. The port is released
// before the engine binds it, so another process could take it in between;
// that rare race surfaces as a bind error from Start.
func freePort() (int, error) {
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPort returns port, or a free port when it is 0, after making sure it
// can be bound on loopback, so a busy port fails with a clear error rather
// than an engine that never answers.
func checkPort(port int) (int, error) {
	if port == 0 {
		return freePort()
	}
	l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", loopback, port))
	if err != nil {
		return 0, fmt.Errorf("port %d: %w", port, err)
	}
	l.Close()
	return port, nil
}
