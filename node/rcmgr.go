package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// newResourceManager builds a resource manager from the configured explicit
// limits: libp2p's default scaling limits scaled to the configured memory and
// file descriptors, with the system-wide connection and stream counts capped
// as configured.
func newResourceManager(r ResourcesConfig) (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	mem := int64(r.MaxMemoryMB) << 20
	concrete := scaling.Scale(mem, r.MaxFileDescriptors)
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:   rcmgr.LimitVal(r.MaxConnections),
			Streams: rcmgr.LimitVal(r.MaxStreams),
			Memory:  rcmgr.LimitVal64(mem),
			FD:      rcmgr.LimitVal(r.MaxFileDescriptors),
		},
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(partial.Build(concrete)))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}
