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
