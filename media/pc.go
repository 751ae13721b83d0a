package media

import (
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Codecs: VP8 video and Opus audio, as the files are.
var (
	capVP8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	capOpus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

// newPC builds a PeerConnection with VP8 and Opus only, pion's default
// interceptors (NACK, RTCP reports, TWCC) plus the stats interceptor whose
// getter it returns, and the ICE settings.
func (s *Service) newPC(room string) (*webrtc.PeerConnection, stats.Getter, error) {
	ic := s.ice
	if s.roomICE != nil {
		ic.room = s.roomICE(room)
	}
	pc, getter, _, err := s.newPCWith(ic, false)
	return pc, getter, err
}

// newPCWith is newPC with ICE settings ic; local is a connection to a
// browser on this host (loopback candidates too, every interface). It
// returns the connection's API too (to make senders with).
func (s *Service) newPCWith(ic ICEConfig, local bool) (*webrtc.PeerConnection, stats.Getter, *webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, nil, nil, err
	}
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, nil, nil, err
	}
	var getter stats.Getter
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { getter = g })
	reg.Add(sf)

	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICETimeouts(s.params.ICEDisconnected, s.params.ICEFailed, s.params.ICEDisconnected/3)
	se.LoggerFactory = quietLogger{}
	// A DTLS flight that arrives before the other side listens is lost
	// and, by default, resent only after 1 s.
	se.SetDTLSRetransmissionInterval(s.params.DTLSRetransmit)
	// With trickle ICE a check often arrives before the candidate it comes
	// from, which makes a peer-reflexive pair; pion waits 1 s before it
	// accepts one. Host-to-host pairs need no wait.
	se.SetPrflxAcceptanceMinWait(0)
	switch {
	case local:
		se.SetIncludeLoopbackCandidate(true)
	case ic.LoopbackOnly:
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	case len(ic.IPs) > 0:
		ips := ic.IPs
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool {
			for _, a := range ips {
				if a.Equal(ip) {
					return true
				}
			}
			return false
		})
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	conf := webrtc.Configuration{}
	if len(ic.Servers) > 0 {
		conf.ICEServers = []webrtc.ICEServer{{URLs: ic.Servers, Username: ic.Username, Credential: ic.Credential}}
	}
	conf.ICEServers = append(conf.ICEServers, ic.room...)
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("new peer connection: %w", err)
	}
	if getter == nil {
		_ = pc.Close()
		return nil, nil, nil, fmt.Errorf("stats interceptor not bound")
	}
	return pc, getter, api, nil
}

// quietLogger drops pion's own logging (its warnings about closed
// connections are routine here); errors reach us through return values.
type quietLogger struct{}

func (quietLogger) NewLogger(string) logging.LeveledLogger { return nopLogger{} }

type nopLogger struct{}

func (nopLogger) Trace(string)          {}
func (nopLogger) Tracef(string, ...any) {}
func (nopLogger) Debug(string)          {}
func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Info(string)           {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warn(string)           {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Error(string)          {}
func (nopLogger) Errorf(string, ...any) {}
