package netns_test

import (
	"net"
	"net/netip"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lblab/lblab/testbed/netns"
)

// rtts measures n TCP handshakes from host from to addr (a listener in
// another host): each connect takes one round trip. Each dial has a
// deadline of one second beyond the expected round trip.
func rtts(from *netns.Host, addr string, n int, expect time.Duration) []time.Duration {
	GinkgoHelper()
	var out []time.Duration
	Expect(from.Do(func() error {
		d := net.Dialer{Timeout: expect + time.Second}
		for range n {
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return err
			}
			out = append(out, time.Since(start))
			c.Close()
		}
		return nil
	})).To(Succeed())
	slices.Sort(out)
	return out
}

// listenIn listens on addr inside host h, accepting (and closing) every
// connection until the spec ends, and sending the remote address of
// each to the channel returned.
func listenIn(h *netns.Host, addr string) <-chan string {
	GinkgoHelper()
	var ln net.Listener
	Expect(h.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return })).To(Succeed())
	DeferCleanup(ln.Close)
	remotes := make(chan string, 1000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case remotes <- c.RemoteAddr().String():
			default:
			}
			c.Close()
		}
	}()
	return remotes
}

// shaping returns the shapes of a link's two ends.
func shaping(l *netns.Link) (netns.Shape, netns.Shape) {
	GinkgoHelper()
	h, p, err := l.Shaping()
	Expect(err).NotTo(HaveOccurred())
	return h, p
}

var _ = Describe("link shaping by netem (the simulator's segment and interface latency, jitter and loss)", Label("netns"), func() {
	ms := time.Millisecond
	// slack is what a handshake may take beyond its netem delays on a
	// busy machine; the minimum of many samples is used, so one slow
	// sample does not count.
	const slack = 5 * time.Millisecond

	// needNetem skips a spec where the kernel has no netem (a kernel
	// feature, not a package the suite could install).
	needNetem := func() {
		if err := netns.NetemAvailable(); err != nil {
			Skip(err.Error())
		}
	}

	It("delays a packet by segment + sender + receiver latency each way, changes at run time, and removes the qdiscs at zero", func() {
		needNetem()
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		a := must(tb.AddHost("a"))
		b := must(tb.AddHost("b"))
		la := must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		lb := must(tb.Connect(b, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
		listenIn(b, "10.9.0.2:7000")

		base := rtts(a, "10.9.0.2:7000", 5, 0)[0]
		Expect(base).To(BeNumerically("<", slack), "an unshaped handshake")

		seg := netns.Shape{Latency: 5 * ms}
		Expect(la.Shape(netns.Shape{Latency: 10 * ms}, seg)).To(Succeed())
		Expect(lb.Shape(netns.Shape{Latency: 3 * ms}, seg)).To(Succeed())
		want := 2 * (10 + 5 + 3) * ms
		got := rtts(a, "10.9.0.2:7000", 10, want)
		Expect(got[0]).To(BeNumerically(">=", want), "netem never delivers early")
		Expect(got[0]).To(BeNumerically("<", want+slack))

		host, port := shaping(lb)
		Expect(host).To(Equal(netns.Shape{Latency: 3 * ms}))
		Expect(port).To(Equal(netns.Shape{Latency: 8 * ms}), "the port sends to b: segment + b's own")

		By("a slower interface at run time (a slow link fault)")
		Expect(lb.Shape(netns.Shape{Latency: 40 * ms}, seg)).To(Succeed())
		want = 2 * (10 + 5 + 40) * ms
		got = rtts(a, "10.9.0.2:7000", 5, want)
		Expect(got[0]).To(BeNumerically(">=", want))
		Expect(got[0]).To(BeNumerically("<", want+slack))

		By("zero shapes remove the qdiscs")
		Expect(la.Shape(netns.Shape{}, netns.Shape{})).To(Succeed())
		Expect(lb.Shape(netns.Shape{}, netns.Shape{})).To(Succeed())
		host, port = shaping(lb)
		Expect(host.IsZero() && port.IsZero()).To(BeTrue(), "%+v %+v", host, port)
		Expect(rtts(a, "10.9.0.2:7000", 5, 0)[0]).To(BeNumerically("<", slack))
	})

	It("spreads delays over [0, sum of the jitters) and drops packets with the combined loss", func() {
		needNetem()
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		a := must(tb.AddHost("a"))
		b := must(tb.AddHost("b"))
		must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		lb := must(tb.Connect(b, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
		listenIn(b, "10.9.0.2:7000")

		By("jitter: b's interface 10 ms, on both of its ends, so a round trip draws twice from [0, 10 ms)")
		Expect(lb.Shape(netns.Shape{Jitter: 10 * ms}, netns.Shape{})).To(Succeed())
		host, port := shaping(lb)
		Expect(host).To(Equal(netns.Shape{Jitter: 10 * ms}))
		Expect(port).To(Equal(netns.Shape{Jitter: 10 * ms}))
		got := rtts(a, "10.9.0.2:7000", 40, 20*ms)
		Expect(got[len(got)-1]).To(BeNumerically("<", 20*ms+slack))
		// 40 sums of two uniform draws all within 5 ms of each other:
		// probability far below 1e-9.
		Expect(got[len(got)-1]-got[0]).To(BeNumerically(">", 5*ms), "the delays spread: %v", got)

		By("loss: segment 20 % and b's interface 25 %: a datagram to b gets through with (1−0.2)(1−0.25) = 0.6")
		Expect(lb.Shape(netns.Shape{Loss: 0.25}, netns.Shape{Loss: 0.2})).To(Succeed())
		var pc net.PacketConn
		Expect(b.Do(func() (err error) { pc, err = net.ListenPacket("udp", "10.9.0.2:7001"); return })).To(Succeed())
		DeferCleanup(pc.Close)
		const n = 1000
		var out net.Conn
		Expect(a.Do(func() (err error) { out, err = net.Dial("udp", "10.9.0.2:7001"); return })).To(Succeed())
		DeferCleanup(out.Close)
		for range n {
			_, err := out.Write([]byte("x"))
			Expect(err).NotTo(HaveOccurred())
		}
		got2 := 0
		buf := make([]byte, 16)
		for {
			// Nothing is delayed: a second of silence means the rest is lost.
			pc.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := pc.ReadFrom(buf); err != nil {
				break
			}
			got2++
		}
		// Binomial(1000, 0.6): σ = 15.5; 5σ.
		Expect(got2).To(BeNumerically("~", 600, 78))
	})

	It("gives an interface more addresses, reached across the segment by its default route", func() {
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		c := must(tb.AddHost("c"))
		s := must(tb.AddHost("s"))
		lc := must(tb.Connect(c, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		ls := must(tb.Connect(s, "eth0", lan, netip.MustParsePrefix("10.9.0.2/24")))
		extra := []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("172.16.5.6/32")}
		Expect(lc.AddAddrs(extra...)).To(Succeed())
		Expect(lc.AddAddrs(extra[0])).To(Succeed(), "an address held already is kept")
		Expect(must(c.Addrs("eth0"))).To(ContainElements(extra[0], extra[1]))
		Expect(lc.RouteAll()).To(Succeed())
		Expect(ls.RouteAll()).To(Succeed())
		remotes := listenIn(s, "10.9.0.2:7000")
		for _, e := range extra {
			Expect(c.Do(func() error {
				d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: e.Addr().AsSlice()}}
				conn, err := d.Dial("tcp", "10.9.0.2:7000")
				if err == nil {
					conn.Close()
				}
				return err
			})).To(Succeed())
			Eventually(remotes).WithTimeout(2 * time.Second).Should(Receive(HavePrefix(e.Addr().String() + ":")))
		}
	})

	It("refuses shapes the simulator refuses", func() {
		tb := newTestbed()
		lan := must(tb.AddSegment("lan"))
		a := must(tb.AddHost("a"))
		la := must(tb.Connect(a, "eth0", lan, netip.MustParsePrefix("10.9.0.1/24")))
		Expect(la.Shape(netns.Shape{Latency: -1}, netns.Shape{})).To(MatchError(ContainSubstring("negative latency")))
		Expect(la.Shape(netns.Shape{}, netns.Shape{Jitter: -1})).To(MatchError(ContainSubstring("negative jitter")))
		Expect(la.Shape(netns.Shape{Loss: 1.5}, netns.Shape{})).To(MatchError(ContainSubstring("outside [0,1]")))
		Expect(la.Shape(netns.Shape{Latency: time.Hour}, netns.Shape{})).To(MatchError(ContainSubstring("above")))
	})
})
