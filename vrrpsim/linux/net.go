package vrrplinux

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/lblab/lblab/vrrpsim"
)

// tosInternetControl is the TOS byte keepalived sends adverts with
// (precedence "internetwork control", 0xc0).
const tosInternetControl = 0xc0

// iface is one interface the agent runs instances on: its raw protocol-112
// socket (shared by the instances, which are told apart by VRID), its
// AF_PACKET socket for gratuitous ARP, and its netlink link for the
// virtual addresses.
type iface struct {
	name  string
	ifi   *net.Interface
	link  netlink.Link
	conn  rawConn
	arpFD int
	frame []byte
	once  sync.Once
}

// rawConn is what an iface needs of its protocol-112 socket: an
// *ipv4.RawConn, or a fake in tests.
type rawConn interface {
	ReadFrom(b []byte) (*ipv4.Header, []byte, *ipv4.ControlMessage, error)
	WriteTo(h *ipv4.Header, p []byte, cm *ipv4.ControlMessage) error
	Close() error
}

var _ rawConn = (*ipv4.RawConn)(nil)

// openIface opens the sockets of the interface name.
func openIface(name string) (*iface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	f := &iface{name: name, ifi: ifi, link: link, arpFD: -1}
	conn, err := listenVRRP(ifi)
	if err != nil {
		return nil, err
	}
	f.conn = conn
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0) // protocol 0: send only
	if err != nil {
		f.close()
		return nil, fmt.Errorf("interface %s: AF_PACKET socket for gratuitous ARP: %w", name, err)
	}
	f.arpFD = fd
	return f, nil
}

// listenVRRP opens a raw IPv4 socket for protocol 112 bound to the
// interface, joined to 224.0.0.18 there, writing its own IP headers
// (TTL 255, TOS 0xc0, as keepalived does) and not looping its multicast
// back.
func listenVRRP(ifi *net.Interface) (*ipv4.RawConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), ifi.Name) }); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip4:%d", vrrpsim.Protocol), "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("interface %s: raw socket for VRRP: %w", ifi.Name, err)
	}
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("interface %s: raw socket for VRRP: %w", ifi.Name, err)
	}
	group := &net.IPAddr{IP: net.IP(vrrpsim.GroupAddr.AsSlice())}
	for _, step := range []struct {
		what string
		err  error
	}{
		{"join 224.0.0.18", rc.JoinGroup(ifi, group)},
		{"set multicast interface", rc.SetMulticastInterface(ifi)},
		{"disable multicast loopback", rc.SetMulticastLoopback(false)},
		{"set multicast TTL", rc.SetMulticastTTL(255)},
	} {
		if step.err != nil {
			rc.Close()
			return nil, fmt.Errorf("interface %s: %s: %w", ifi.Name, step.what, step.err)
		}
	}
	return rc, nil
}

// close closes the sockets (once; a blocked read returns).
func (f *iface) close() {
	f.once.Do(func() {
		if f.conn != nil {
			f.conn.Close()
		}
		if f.arpFD >= 0 {
			unix.Close(f.arpFD)
		}
	})
}

// primaryIPv4 returns the first primary (not secondary) IPv4 address of
// the interface that is not one of skip.
func (f *iface) primaryIPv4(skip []netip.Prefix) (netip.Addr, error) {
	addrs, err := netlink.AddrList(f.link, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", f.name, err)
	}
	var fallback netip.Addr
next:
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		for _, v := range skip {
			if v.Addr() == ip {
				continue next
			}
		}
		if a.Flags&unix.IFA_F_SECONDARY == 0 {
			return ip, nil
		}
		if !fallback.IsValid() {
			fallback = ip
		}
	}
	if fallback.IsValid() {
		return fallback, nil
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv4 address", f.name)
}

// send writes one VRRP message to dst with an IP header like keepalived's.
func (f *iface) send(src, dst netip.Addr, payload []byte) error {
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      tosInternetControl,
		TotalLen: ipv4.HeaderLen + len(payload),
		TTL:      255,
		Protocol: vrrpsim.Protocol,
		Src:      net.IP(src.AsSlice()),
		Dst:      net.IP(dst.AsSlice()),
	}
	return f.conn.WriteTo(h, payload, nil)
}

// addVIP configures a virtual address; one already there is fine.
func (f *iface) addVIP(p netip.Prefix) error {
	err := netlink.AddrAdd(f.link, nlAddr(p))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// delVIP removes a virtual address; one not there is fine.
func (f *iface) delVIP(p netip.Prefix) error {
	err := netlink.AddrDel(f.link, nlAddr(p))
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

func nlAddr(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}}
}

// garp broadcasts one gratuitous ARP for ip from the interface's own MAC.
func (f *iface) garp(ip netip.Addr) error {
	f.frame = appendGARP(f.frame[:0], f.ifi.HardwareAddr, ip)
	sa := &unix.SockaddrLinklayer{
		Protocol: htons(unix.ETH_P_ARP),
		Ifindex:  f.ifi.Index,
		Halen:    6,
		Addr:     [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	return unix.Sendto(f.arpFD, f.frame, 0, sa)
}

// appendGARP appends a gratuitous ARP frame as keepalived sends it: an
// Ethernet broadcast from mac, ARP request, sender mac/ip, target
// ff:ff:ff:ff:ff:ff/ip.
func appendGARP(b []byte, mac net.HardwareAddr, ip netip.Addr) []byte {
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ip4 := ip.As4()
	b = append(b, bcast...)
	b = append(b, mac[:6]...)
	b = binary.BigEndian.AppendUint16(b, unix.ETH_P_ARP)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol: IPv4
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, 1) // request
	b = append(b, mac[:6]...)
	b = append(b, ip4[:]...)
	b = append(b, bcast...)
	return append(b, ip4[:]...)
}

// htons puts v in network byte order, as sockaddr_ll wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
