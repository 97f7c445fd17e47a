// Package dockerbed is the Docker plumbing of lblab's docker world,
// through testcontainers-go: a FROM scratch image holding the statically
// linked lblab binary (built once per binary, found again by its hash),
// user-defined bridge networks with a lab's subnets, containers with the
// lab's addresses and interface names, faults (kill, signals, the cgroup
// freezer, a link set down at the switch), files in and out, and a
// cleanup that removes everything it made.
//
// Everything a bed makes carries the labels LabelRun (the bed's run id,
// <pid>-<n>-<unix nanos>), LabelPID (the owning process) and LabelClient
// (the machine it runs on), so that Clean can remove what a killed run
// left, and only that: a run whose process still runs is kept. The
// image is a cache shared by runs (LabelHash says which binary it
// holds); Clean removes it only with CleanOptions.Images.
//
// Ryuk, testcontainers-go's reaper container, is disabled
// (TESTCONTAINERS_RYUK_DISABLED=true, set by New when unset): it would
// need an image pulled from a registry, and the bed removes what it made
// itself (Cleanup; Clean after a SIGKILL).
//
// An engine on this machine (DOCKER_HOST unset, or a unix socket) is
// local: the bed then gives each container's interfaces the lab's names
// and sets links down, with netlink in the container's network namespace
// and this one (it needs root). A remote engine (DOCKER_HOST=tcp://... or
// ssh://...) runs the same containers, with Docker's interface names
// (eth0, eth1, ... in an order Docker chooses) and no link faults.
package dockerbed

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lblab/lblab/testbed/netns"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

// The labels on everything a bed makes.
const (
	// LabelRun is the run id of the bed that made it.
	LabelRun = "io.lblab.run"
	// LabelPID is the process id of the lblab process that made it.
	LabelPID = "io.lblab.pid"
	// LabelStart is that process's start time (clock ticks since boot,
	// /proc/PID/stat field 22): a pid reused by another process is not
	// the owner.
	LabelStart = "io.lblab.pid-start"
	// LabelClient is the host name of the machine the owner runs on: a
	// clean on another machine sharing the engine cannot know whether
	// the owner runs, and keeps it.
	LabelClient = "io.lblab.client"
	// LabelHash is, on an image, the SHA-256 of the lblab binary it holds
	// (also the image's tag).
	LabelHash = "io.lblab.binary-sha256"
)

// ImageRepo is the repository of the images a bed builds; the tag is the
// first 32 hex digits of the binary's SHA-256.
const ImageRepo = "lblab-scratch"

// BinaryPath is where the image holds the lblab binary (each
// container's entrypoint).
const BinaryPath = "/lblab/lblab"

// ShellPath is the image's /bin/sh when a static busybox was found (see
// Image): vrrp_script and notify scripts need one.
const ShellPath = "/bin/sh"

// busyboxApplets are the commands the image links to busybox.
var busyboxApplets = []string{"sh", "test", "[", "rm", "touch", "cat", "true", "false", "sleep", "echo"}

// pingWait bounds Available's look at the engine.
const pingWait = 5 * time.Second

var (
	counter atomic.Int64
	setup   sync.Once
)

// prepare disables Ryuk and routes testcontainers-go's log to slog
// (debug), once, before the first provider is made.
func prepare() {
	setup.Do(func() {
		if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
			_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
		tclog.SetDefault(slogger{})
	})
}

// slogger is testcontainers-go's logger writing to slog at debug level.
type slogger struct{}

func (slogger) Printf(format string, v ...any) {
	slog.Debug("testcontainers: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// provider returns testcontainers-go's provider of the engine lblab
// talks to: DOCKER_HOST's when it is set, and no other. (testcontainers-go
// tries DOCKER_HOST, then its other strategies, among them the local
// socket: an engine that does not answer at DOCKER_HOST would silently
// give way to another.) The error names DOCKER_HOST's value.
func provider() (*testcontainers.DockerProvider, error) {
	prepare()
	want := os.Getenv("DOCKER_HOST")
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		if want != "" {
			return nil, fmt.Errorf("DOCKER_HOST=%s: that Docker engine does not answer: %s", want, firstLine(err))
		}
		return nil, fmt.Errorf("no Docker engine (DOCKER_HOST or /var/run/docker.sock): %s", firstLine(err))
	}
	got := p.Client().DaemonHost()
	if want == "" || strings.TrimSuffix(got, "/") == strings.TrimSuffix(want, "/") {
		return p, nil
	}
	p.Close()
	why := "it answers, but testcontainers-go chose " + got + " (tc.host in ~/.testcontainers.properties?)"
	cli, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), pingWait)
		_, err = cli.Ping(ctx, client.PingOptions{})
		cancel()
		cli.Close()
	}
	if err != nil {
		why = "that Docker engine does not answer: " + firstLine(err)
	}
	return nil, fmt.Errorf("DOCKER_HOST=%s: %s; lblab uses no other engine while DOCKER_HOST is set (unset it for the local one)", want, why)
}

// Local reports whether the engine lblab talks to runs on this machine:
// reached through a unix socket (DOCKER_HOST unset, or unix://). No
// engine at all counts as local.
func Local() bool {
	p, err := provider()
	if err != nil {
		return true
	}
	defer p.Close()
	return strings.HasPrefix(p.Client().DaemonHost(), "unix://")
}

// Engine returns nil when a Docker engine answers (DOCKER_HOST's when it
// is set, else the local socket), else why not, in one line.
func Engine() error {
	ctx, cancel := context.WithTimeout(context.Background(), pingWait)
	defer cancel()
	p, err := provider()
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Client().Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("the Docker engine at %s does not answer: %s", p.Client().DaemonHost(), firstLine(err))
	}
	return nil
}

// Available returns nil when beds can be made here: an engine answers
// (Engine) and, when it is local, this process is root (the containers'
// interfaces are named and their links set down with netlink). Otherwise
// it says why not, in one line.
func Available() error {
	if err := Engine(); err != nil {
		return err
	}
	if Local() && os.Geteuid() != 0 {
		return errors.New("a local Docker engine's containers are set up with netlink in their namespaces, which needs root")
	}
	return nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// Bed owns the networks and containers it made.
type Bed struct {
	prov   *testcontainers.DockerProvider
	cli    client.APIClient
	run    string
	labels map[string]string
	local  bool

	mu     sync.Mutex
	nets   []*Network
	ctrs   []*Container
	work   string // the work folder, "" until WorkDir makes it
	closed bool
	// busy counts the calls making a container or a network (open):
	// Cleanup waits for them, so that a container whose creation was
	// under way when the run was interrupted is not created after the
	// run's things were listed and removed.
	busy sync.WaitGroup
	// aborted is set when a container's creation was given up by its
	// context: the engine may still finish making it after the call
	// returned, so Cleanup looks for the run's containers once more.
	aborted bool

	cleanup    sync.Once
	cleanupErr error
}

// New connects to the engine and makes an empty bed with a run id of its
// own.
func New() (*Bed, error) {
	p, err := provider()
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	run := fmt.Sprintf("%d-%d-%d", os.Getpid(), counter.Add(1), time.Now().UnixNano())
	local := strings.HasPrefix(p.Client().DaemonHost(), "unix://")
	return &Bed{prov: p, cli: p.Client(), run: run, labels: ownerLabels(run), local: local}, nil
}

// ownerLabels are the labels of what run makes.
func ownerLabels(run string) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		LabelRun:    run,
		LabelPID:    strconv.Itoa(os.Getpid()),
		LabelStart:  strconv.FormatUint(netns.StartTime(os.Getpid()), 10),
		LabelClient: host,
	}
}

// Run is the bed's run id, the value of LabelRun on what it makes.
func (b *Bed) Run() string { return b.run }

// WorkPrefix starts the name of a bed's work folder in os.TempDir():
// lblab-docker-<run id>-<random>.
const WorkPrefix = "lblab-docker-"

// WorkDir returns the bed's work folder on this machine (for bind
// mounts), made on the first call and removed by Cleanup; Clean removes
// those of killed runs.
func (b *Bed) WorkDir() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", errors.New("docker: bed already cleaned up")
	}
	if b.work == "" {
		dir, err := os.MkdirTemp("", WorkPrefix+b.run+"-*")
		if err != nil {
			return "", fmt.Errorf("docker: work folder: %w", err)
		}
		b.work = dir
	}
	return b.work, nil
}

// Local reports whether the bed's engine runs on this machine (see the
// package's doc: interface names and link faults need it).
func (b *Bed) Local() bool { return b.local }

// Labels returns a copy of the labels the bed puts on what it makes.
func (b *Bed) Labels() map[string]string {
	out := make(map[string]string, len(b.labels))
	for k, v := range b.labels {
		out[k] = v
	}
	return out
}

// open returns the labels of a new thing of the bed, or an error once
// the bed is cleaned up. The caller calls done when it has made the
// thing or given up (Cleanup waits for it).
func (b *Bed) open() (labels map[string]string, done func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, errors.New("docker: bed already cleaned up")
	}
	b.busy.Add(1)
	return b.Labels(), b.busy.Done, nil
}

// Static reports whether the ELF file at path is statically linked (it
// has no program interpreter), as a FROM scratch image needs.
func Static(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// Busybox returns the path of a statically linked busybox on this
// machine (Debian's busybox-static), or "" when there is none.
func Busybox() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if ok, err := Static(p); err == nil && ok {
			return p
		}
	}
	return ""
}

// Image is the FROM scratch image of a binary.
type Image struct {
	// Ref is its name, ImageRepo:tag.
	Ref string
	// Hash is the SHA-256 of the binary (hex).
	Hash string
	// Built says this call built it (false: it was there already).
	Built bool
	// Shell says it has /bin/sh and the usual commands (a static
	// busybox was found when it was built).
	Shell bool
	// Took is how long finding or building it took.
	Took time.Duration
}

// Image returns the FROM scratch image holding binary (statically
// linked) at BinaryPath, and a static busybox as /bin/sh when this
// machine has one (Busybox). It is built with testcontainers-go's
// FromDockerfile the first time and found by its tag, the binary's hash,
// afterwards: a second run builds nothing. It carries the bed's labels
// and LabelHash.
func (b *Bed) Image(ctx context.Context, binary string) (Image, error) {
	began := time.Now()
	ok, err := Static(binary)
	if err != nil {
		return Image{}, fmt.Errorf("docker image: %s: %w", binary, err)
	}
	if !ok {
		return Image{}, fmt.Errorf("docker image: %s is dynamically linked; a FROM scratch image needs a static one (CGO_ENABLED=0 go build ./cmd/lblab)", binary)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return Image{}, fmt.Errorf("docker image: %w", err)
	}
	bb := Busybox()
	var box []byte
	h := sha256.New()
	h.Write(bin)
	if bb != "" {
		if box, err = os.ReadFile(bb); err != nil {
			return Image{}, fmt.Errorf("docker image: %w", err)
		}
		h.Write(box)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	img := Image{Ref: ImageRepo + ":" + sum[:32], Hash: sum, Shell: bb != ""}
	if got, err := b.cli.ImageInspect(ctx, img.Ref); err == nil {
		img.Shell = got.Config != nil && got.Config.Labels["io.lblab.shell"] == "yes"
		img.Took = time.Since(began)
		return img, nil
	}
	labels := b.Labels()
	labels[LabelHash] = sum
	labels["io.lblab.shell"] = "no"
	if box != nil {
		labels["io.lblab.shell"] = "yes"
	}
	archive, err := buildContext(bin, box, labels)
	if err != nil {
		return Image{}, err
	}
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(archive),
		Repo:           ImageRepo,
		Tag:            sum[:32],
		KeepImage:      true,
	}}
	if _, err := b.prov.BuildImage(ctx, &req); err != nil {
		return Image{}, fmt.Errorf("docker image: building %s: %w", img.Ref, err)
	}
	img.Built = true
	img.Took = time.Since(began)
	// The images of older binaries no container uses go: each build of
	// lblab would leave one behind otherwise.
	_, _ = removeImages(ctx, b.cli, staleImage)
	return img, nil
}

// RemoveImage removes the image ref (not one a container uses).
func (b *Bed) RemoveImage(ctx context.Context, ref string) error {
	_, err := b.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("docker: removing image %s: %w", ref, err)
	}
	return nil
}

// staleImage is the age past which Image removes an lblab image of
// another binary that no container uses.
const staleImage = 24 * time.Hour

// buildContext is the tar archive of the image's build: the Dockerfile,
// the binary, and busybox with its applets' links when box is not nil.
// The labels are one LABEL line of the Dockerfile (the engine's build
// labels add a step that takes seconds on some storage drivers), and
// the image has no ENTRYPOINT (each container is given BinaryPath): the
// build is two steps.
func buildContext(bin, box []byte, labels map[string]string) ([]byte, error) {
	df := "FROM scratch\nCOPY lblab " + BinaryPath + "\n"
	if box != nil {
		df += "COPY bin /bin\n"
	}
	df += "LABEL"
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		df += " " + k + "=" + strconv.Quote(labels[k])
	}
	df += "\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add("Dockerfile", 0o644, []byte(df)); err != nil {
		return nil, err
	}
	if err := add("lblab", 0o755, bin); err != nil {
		return nil, err
	}
	if box != nil {
		if err := add("bin/busybox", 0o755, box); err != nil {
			return nil, err
		}
		for _, a := range busyboxApplets {
			if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Network is a user-defined bridge network of the bed.
type Network struct {
	// Name is the lab's segment name; ID and Docker the network's id and
	// Docker name.
	Name, ID, Docker string
	// Subnet is its subnet.
	Subnet netip.Prefix
}

// AddNetwork makes a bridge network for segment name with subnet, its
// gateway (the host's address on the bridge) at gateway: an address of
// the subnet no lab host uses.
func (b *Bed) AddNetwork(ctx context.Context, name string, subnet netip.Prefix, gateway netip.Addr) (*Network, error) {
	labels, done, err := b.open()
	if err != nil {
		return nil, err
	}
	defer done()
	labels["io.lblab.segment"] = name
	var n *testcontainers.DockerNetwork
	for try := 1; ; try++ {
		n, err = tcnetwork.New(ctx,
			tcnetwork.WithDriver("bridge"),
			tcnetwork.WithLabels(labels),
			tcnetwork.WithIPAM(&network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: subnet, Gateway: gateway}}}),
		)
		if err == nil || !strings.Contains(err.Error(), "overlaps") {
			break
		}
		if other := b.overlapping(ctx, subnet); other != "" {
			return nil, &BusyError{Subnet: subnet, Run: other}
		}
		// The network that held the subnet is gone already (another
		// run ended between the two calls): try again, a few times.
		if try == overlapTries {
			return nil, fmt.Errorf("docker: network for segment %s (%s): %w (a Docker network that is not lblab's holds an overlapping subnet: see docker network ls)", name, subnet, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(overlapPause):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("docker: network for segment %s (%s): %w", name, subnet, err)
	}
	nw := &Network{Name: name, ID: n.ID, Docker: n.Name, Subnet: subnet}
	b.mu.Lock()
	b.nets = append(b.nets, nw)
	b.mu.Unlock()
	return nw, nil
}

// overlapTries is how many times AddNetwork asks for a subnet that
// overlaps a network that is no lblab run's by the time it looks (the
// holder was removed meanwhile), overlapPause apart.
const (
	overlapTries = 5
	overlapPause = 200 * time.Millisecond
)

// BusyError says that another lblab run's network holds a subnet: Docker
// refuses two networks whose subnets overlap, so two runs of labs on the
// same subnets take turns on one engine.
type BusyError struct {
	// Subnet is the subnet asked for; Run the run id holding it.
	Subnet netip.Prefix
	Run    string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("docker: subnet %s is held by the network of lblab run %s", e.Subnet, e.Run)
}

// overlapping returns the run id of an lblab network whose subnet
// overlaps subnet, or "".
func (b *Bed) overlapping(ctx context.Context, subnet netip.Prefix) string {
	ns, err := b.cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", LabelRun)})
	if err != nil {
		return ""
	}
	for _, n := range ns.Items {
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() && c.Subnet.Overlaps(subnet) {
				return n.Labels[LabelRun]
			}
		}
	}
	return ""
}

// Endpoint is a container's interface on a network.
type Endpoint struct {
	// Net is the network.
	Net *Network
	// Addr is the interface's address (with the subnet's length).
	Addr netip.Prefix
	// Iface is the interface's name in the container (on a local engine;
	// a remote one keeps Docker's).
	Iface string
}

// File is a file put into a container before it starts.
type File struct {
	// Path is where, in the container.
	Path string
	// Data is what it holds.
	Data []byte
	// Mode is its permission bits. Default 0644.
	Mode int64
}

// Spec says what container to run.
type Spec struct {
	// Name is the container's name (the bed's run id is added before it).
	Name string
	// Host is the lab host it plays (the label io.lblab.host).
	Host string
	// Image is the image's Ref.
	Image string
	// Args are the arguments of the image's entrypoint (lblab).
	Args []string
	// Endpoints are its interfaces, in the lab's order. At least one,
	// unless Join is set.
	Endpoints []Endpoint
	// Join, when set, is a running container whose network namespace
	// this one shares (Docker's network mode container:<id>): it has no
	// interface of its own, and its Endpoints are Join's.
	Join *Container
	// Files are put in before it starts.
	Files []File
	// Binds are bind mounts, host:container[:ro] (a local engine only).
	Binds []string
	// Caps are the Linux capabilities added (e.g. NET_ADMIN, NET_RAW).
	Caps []string
	// Labels are labels of its own (e.g. lblab.lb.port_80 for container
	// discovery), beside the bed's; they cannot replace the bed's.
	Labels map[string]string
	// Realtime runs its process under the real-time round-robin policy
	// at the lowest priority (as the netns world's chrt --rr 1), with
	// RealtimeShare of real-time CPU time a second where the kernel
	// groups it by cgroup; a local engine only. Where the kernel refuses
	// it, Container.Realtime says why and the container runs as others.
	// Default false.
	Realtime bool
}

// Container is a container of the bed.
type Container struct {
	bed *Bed
	// ID is its id; Name its Docker name; Host the lab host it plays.
	ID, Name, Host string
	// Endpoints are its interfaces.
	Endpoints []Endpoint
	// Realtime is why its process does not run under the real-time
	// policy its Spec asked for (nil: it does, or none was asked).
	Realtime error
	pid      int
}

// Start creates the container of spec, connects it to its networks with
// its addresses, puts its files in, starts it and, on a local engine,
// gives its interfaces the lab's names. The container's process runs
// from the start: a role that must wait for its interfaces' names waits
// for a file put in afterwards (WriteFile; lblab vrrp --start-file).
func (b *Bed) Start(ctx context.Context, spec Spec) (*Container, error) {
	rt := spec.Realtime && b.local && realtimeBudget()
	if spec.Join != nil {
		spec.Endpoints = nil
	} else if len(spec.Endpoints) == 0 {
		return nil, fmt.Errorf("docker: container %s: no interface", spec.Name)
	}
	labels, done, err := b.open()
	if err != nil {
		return nil, err
	}
	defer done()
	for k, v := range spec.Labels {
		if _, ours := labels[k]; !ours {
			labels[k] = v
		}
	}
	labels["io.lblab.host"] = spec.Host
	name := "lbl-" + b.run + "-" + spec.Name
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:      spec.Image,
			Entrypoint: []string{BinaryPath},
			Name:       name,
			Cmd:        spec.Args,
			Labels:     labels,
			Files:      containerFiles(spec.Files),
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.CapAdd = append(hc.CapAdd, spec.Caps...)
				hc.Binds = append(hc.Binds, spec.Binds...)
				if rt {
					hc.Resources.CPURealtimeRuntime = RealtimeShare
				}
				if spec.Join != nil {
					// A modifier of one's own replaces testcontainers-go's,
					// which would set the request's NetworkMode.
					hc.NetworkMode = container.NetworkMode("container:" + spec.Join.ID)
				}
			},
		},
		Started: false,
		Logger:  slogger{},
	}
	if spec.Join == nil {
		first := spec.Endpoints[0]
		req.Networks = []string{first.Net.Docker}
		req.EndpointSettingsModifier = func(eps map[string]*network.EndpointSettings) {
			ep := eps[first.Net.Docker]
			if ep == nil {
				ep = &network.EndpointSettings{}
				eps[first.Net.Docker] = ep
			}
			ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: first.Addr.Addr()}
		}
	}
	tc, err := testcontainers.GenericContainer(ctx, req)
	if err != nil && ctx.Err() != nil {
		b.mu.Lock()
		b.aborted = true
		b.mu.Unlock()
	}
	c := &Container{bed: b, Name: name, Host: spec.Host, Endpoints: spec.Endpoints}
	if spec.Join != nil {
		c.Endpoints = spec.Join.Endpoints
	}
	if tc != nil {
		c.ID = tc.GetContainerID()
		b.mu.Lock()
		b.ctrs = append(b.ctrs, c)
		b.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("docker: container %s: %w", spec.Name, err)
	}
	for _, ep := range spec.Endpoints[min(1, len(spec.Endpoints)):] {
		if _, err := b.cli.NetworkConnect(ctx, ep.Net.ID, client.NetworkConnectOptions{Container: c.ID,
			EndpointConfig: &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ep.Addr.Addr()}}}); err != nil {
			return nil, fmt.Errorf("docker: container %s: connecting %s: %w", spec.Name, ep.Net.Name, err)
		}
	}
	if err := tc.Start(ctx); err != nil {
		return nil, fmt.Errorf("docker: container %s: start: %w", spec.Name, err)
	}
	in, err := b.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: container %s: %w", spec.Name, err)
	}
	if in.Container.State != nil {
		c.pid = in.Container.State.Pid
	}
	if spec.Realtime && b.local {
		c.Realtime = setRealtime(c.pid)
	}
	if b.local && spec.Join == nil {
		if err := c.nameInterfaces(); err != nil {
			return nil, fmt.Errorf("docker: container %s: %w", spec.Name, err)
		}
	}
	return c, nil
}

// containerFiles are files as testcontainers-go puts them in.
func containerFiles(fs []File) []testcontainers.ContainerFile {
	var files []testcontainers.ContainerFile
	for _, f := range fs {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(f.Data), ContainerFilePath: f.Path, FileMode: mode})
	}
	return files
}

// Pid is the container's first process as this machine sees it (0 on a
// remote engine's or when it was not started).
func (c *Container) Pid() int {
	if !c.bed.local {
		return 0
	}
	return c.pid
}

// Do runs fn on an OS thread that has entered the container's network
// namespace, so that the sockets fn opens live there (they stay there
// after Do returns): a local engine only. The thread returns to the
// caller's namespace afterwards, or is thrown away when it cannot.
func (c *Container) Do(fn func() error) error {
	if !c.bed.local {
		return errors.New("the Docker engine is remote: its containers' namespaces are not on this machine")
	}
	target, err := vns.GetFromPid(c.pid)
	if err != nil {
		return fmt.Errorf("container %s: network namespace of pid %d: %w", c.Host, c.pid, err)
	}
	defer target.Close()
	return netns.DoIn(target, "container "+c.Host, fn)
}

// AddAddrs gives the container's interface iface more addresses (a
// population of client source addresses), with no prefix route, one
// netlink request each in its namespace (testbed/netns's Link.AddAddrs);
// one it holds already is kept. A local engine only.
func (c *Container) AddAddrs(iface string, addrs ...netip.Prefix) error {
	return c.withLink(iface, func(nl *netlink.Handle, l netlink.Link) error { return netns.AddAddrsTo(nl, l, addrs...) })
}

// RouteAll replaces the container's default route by one with no
// gateway out of iface, straight onto its network: it then reaches any
// address another container of the network holds by ARP (testbed/netns's
// Link.RouteAll). A local engine only.
func (c *Container) RouteAll(iface string) error {
	return c.withLink(iface, netns.RouteAllOut)
}

// withLink runs fn with a netlink handle in the container's namespace
// and its interface iface.
func (c *Container) withLink(iface string, fn func(*netlink.Handle, netlink.Link) error) error {
	nl, err := c.handle()
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Host, err)
	}
	defer nl.Close()
	l, err := nl.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("container %s: link %s: %w", c.Host, iface, err)
	}
	if err := fn(nl, l); err != nil {
		return fmt.Errorf("container %s: %s: %w", c.Host, iface, err)
	}
	return nil
}

// handle opens a netlink handle in the container's network namespace
// (a local engine only).
func (c *Container) handle() (*netlink.Handle, error) {
	if !c.bed.local {
		return nil, errors.New("the Docker engine is remote: its containers' namespaces are not on this machine")
	}
	if c.pid <= 0 {
		return nil, errors.New("not running")
	}
	ns, err := vns.GetFromPid(c.pid)
	if err != nil {
		return nil, fmt.Errorf("network namespace of pid %d: %w", c.pid, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// nameInterfaces renames each interface, found by its address, to its
// endpoint's name (down, renamed, up; through temporary names, since
// Docker's names may be the lab's in another order).
func (c *Container) nameInterfaces() error {
	nl, err := c.handle()
	if err != nil {
		return err
	}
	defer nl.Close()
	links := make([]netlink.Link, len(c.Endpoints))
	for i, ep := range c.Endpoints {
		l, err := linkWith(nl, ep.Addr.Addr())
		if err != nil {
			return err
		}
		links[i] = l
	}
	for i, l := range links {
		if l.Attrs().Name == c.Endpoints[i].Iface {
			continue
		}
		if err := nl.LinkSetDown(l); err != nil {
			return fmt.Errorf("interface %s down: %w", l.Attrs().Name, err)
		}
		if err := nl.LinkSetName(l, fmt.Sprintf("lbltmp%d", i)); err != nil {
			return fmt.Errorf("renaming %s: %w", l.Attrs().Name, err)
		}
	}
	for i, l := range links {
		want := c.Endpoints[i].Iface
		if l.Attrs().Name == want {
			continue
		}
		cur, err := nl.LinkByIndex(l.Attrs().Index)
		if err != nil {
			return err
		}
		if err := nl.LinkSetName(cur, want); err != nil {
			return fmt.Errorf("renaming %s to %s: %w", cur.Attrs().Name, want, err)
		}
		if err := nl.LinkSetUp(cur); err != nil {
			return fmt.Errorf("interface %s up: %w", want, err)
		}
	}
	return nil
}

// linkWith returns the link holding ip.
func linkWith(nl *netlink.Handle, ip netip.Addr) (netlink.Link, error) {
	addrs, err := nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP.To4()); ok && got == ip {
			return nl.LinkByIndex(a.LinkIndex)
		}
	}
	return nil, fmt.Errorf("no interface holds %s", ip)
}

// SetLink sets the switch's end of the container's interface iface down
// or up: the veth peer on the network's bridge, in this machine's
// namespace, with one netlink request each. The container sees its
// carrier go, as a cable pulled at the switch (testbed/netns's
// Link.Down). A local engine only.
func (c *Container) SetLink(iface string, up bool) error {
	nl, err := c.handle()
	if err != nil {
		return fmt.Errorf("container %s: link %s: %w", c.Host, iface, err)
	}
	l, err := nl.LinkByName(iface)
	nl.Close()
	if err != nil {
		return fmt.Errorf("container %s: link %s: %w", c.Host, iface, err)
	}
	peer, err := netlink.LinkByIndex(l.Attrs().ParentIndex)
	if err != nil || peer.Type() != "veth" || peer.Attrs().MasterIndex == 0 {
		return fmt.Errorf("container %s: link %s: its bridge port is not in this namespace (%v)", c.Host, iface, err)
	}
	if up {
		return netlink.LinkSetUp(peer)
	}
	return netlink.LinkSetDown(peer)
}

// Kill kills the container outright (SIGKILL to its first process; the
// kernel kills every other process of its PID namespace with it). On a
// local engine it is one kill(2) of the process from here, so the
// container is dead when Kill returns; the engine's kill returns only
// once it has seen the container stop and torn down its network, a
// hundred milliseconds and more later, so that on a remote engine the
// container died some time before Kill returned.
func (c *Container) Kill(ctx context.Context) error {
	return c.Signal(ctx, syscall.SIGKILL)
}

// Signal sends sig to the container's first process. On a local engine
// it is one kill(2) from here, delivered when Signal returns; on a remote
// one, the engine's kill, which returns once the engine delivered it
// (some time after the delivery).
func (c *Container) Signal(ctx context.Context, sig syscall.Signal) error {
	if c.bed.local && c.pid > 0 {
		if err := syscall.Kill(c.pid, sig); err != nil {
			return fmt.Errorf("container %s: %s: %w", c.Host, unix.SignalName(sig), err)
		}
		return nil
	}
	_, err := c.bed.cli.ContainerKill(ctx, c.ID, client.ContainerKillOptions{Signal: unix.SignalName(sig)})
	if err != nil {
		return fmt.Errorf("container %s: %s: %w", c.Host, unix.SignalName(sig), err)
	}
	return nil
}

// Pause freezes every process of the container (the cgroup freezer).
func (c *Container) Pause(ctx context.Context) error {
	_, err := c.bed.cli.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{})
	return err
}

// Unpause thaws it.
func (c *Container) Unpause(ctx context.Context) error {
	_, err := c.bed.cli.ContainerUnpause(ctx, c.ID, client.ContainerUnpauseOptions{})
	return err
}

// State returns the container's state: running, whether it is paused,
// and its exit code once it has stopped.
func (c *Container) State(ctx context.Context) (running, paused bool, exit int, err error) {
	in, err := c.bed.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return false, false, 0, err
	}
	s := in.Container.State
	if s == nil {
		return false, false, 0, nil
	}
	return s.Running, s.Paused, s.ExitCode, nil
}

// Wait waits until the container has stopped, up to ctx's deadline, and
// returns its exit code.
func (c *Container) Wait(ctx context.Context) (int, error) {
	w := c.bed.cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-w.Result:
		return int(r.StatusCode), nil
	case err := <-w.Error:
		return -1, err
	}
}

// Logs returns what the container printed (stdout and stderr), at most
// the last 64 KiB.
func (c *Container) Logs(ctx context.Context) string {
	r, err := c.bed.cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return ""
	}
	defer r.Close()
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	b = demux(b)
	if len(b) > 64<<10 {
		b = b[len(b)-64<<10:]
	}
	return string(b)
}

// Follow copies what the container prints (stdout and stderr, from its
// start) to w as it prints it, until the container stops or ctx is
// done; it returns then.
func (c *Container) Follow(ctx context.Context, w io.Writer) error {
	r, err := c.bed.cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return fmt.Errorf("container %s: logs: %w", c.Host, err)
	}
	defer r.Close()
	_, err = stdcopy.StdCopy(w, w, r)
	return err
}

// demux strips the 8-byte headers of Docker's multiplexed log stream.
func demux(b []byte) []byte {
	var out []byte
	for len(b) >= 8 && b[0] <= 2 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
		n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		b = b[8:]
		n = min(n, len(b))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return append(out, b...)
}

// WriteFile puts a file into the container (running or stopped).
func (c *Container) WriteFile(ctx context.Context, p string, data []byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path.Base(p), Mode: 0o644, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := c.bed.cli.CopyToContainer(ctx, c.ID, client.CopyToContainerOptions{DestinationPath: path.Dir(p), Content: &buf})
	if err != nil {
		return fmt.Errorf("container %s: writing %s: %w", c.Host, p, err)
	}
	return nil
}

// ReadFile copies a file out of the container (running or stopped); a
// file that is not there is os.ErrNotExist. At most 256 MiB.
func (c *Container) ReadFile(ctx context.Context, p string) ([]byte, error) {
	r, err := c.bed.cli.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		if strings.Contains(err.Error(), "No such container:path") || strings.Contains(err.Error(), "Could not find the file") {
			return nil, fmt.Errorf("container %s: %s: %w", c.Host, p, os.ErrNotExist)
		}
		return nil, fmt.Errorf("container %s: reading %s: %w", c.Host, p, err)
	}
	defer r.Content.Close()
	tr := tar.NewReader(r.Content)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("container %s: reading %s: %w", c.Host, p, err)
	}
	const most = 256 << 20
	b, err := io.ReadAll(io.LimitReader(tr, most+1))
	if err != nil {
		return nil, fmt.Errorf("container %s: reading %s: %w", c.Host, p, err)
	}
	if len(b) > most {
		return nil, fmt.Errorf("container %s: %s is larger than %d bytes", c.Host, p, most)
	}
	return b, nil
}

// Remove removes the container (killing it if it runs).
func (c *Container) Remove(ctx context.Context) error {
	_, err := c.bed.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No such") || strings.Contains(err.Error(), "not found"))
}

// cleanupWait bounds the cleanup's calls to the engine.
const cleanupWait = time.Minute

// abortedCreateWait is how long Cleanup gives the engine to finish a
// container creation its caller gave up, before it looks for the run's
// containers again.
const abortedCreateWait = time.Second

// Cleanup removes every container and network the bed made (the image
// stays: it is the cache of the next run), and everything else labelled
// with its run id. It runs once: a later or concurrent call waits for
// the first and returns its result.
func (b *Bed) Cleanup() error {
	b.cleanup.Do(func() { b.cleanupErr = b.clean() })
	return b.cleanupErr
}

func (b *Bed) clean() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupWait)
	defer cancel()
	// The things under way first (open): each ends made or given up,
	// within cleanupWait (their callers' contexts are done on SIGINT).
	idle := make(chan struct{})
	go func() { b.busy.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
	}
	_, err := removeRun(ctx, b.cli, b.run)
	b.mu.Lock()
	again := b.aborted
	b.mu.Unlock()
	if again {
		// A creation given up by its caller may still be finishing in
		// the engine: look again once it has had the time.
		select {
		case <-time.After(abortedCreateWait):
		case <-ctx.Done():
		}
		_, err2 := removeRun(ctx, b.cli, b.run)
		err = errors.Join(err, err2)
	}
	b.prov.Close()
	if b.work != "" {
		err = errors.Join(err, os.RemoveAll(b.work))
	}
	return err
}

// removeRun removes the containers, then the networks, labelled with run
// id run, and returns what it removed.
func removeRun(ctx context.Context, cli client.APIClient, run string) (Remains, error) {
	var out Remains
	var errs []error
	f := make(client.Filters).Add("label", LabelRun+"="+run)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return out, fmt.Errorf("docker: listing containers of run %s: %w", run, err)
	}
	for _, c := range cs.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, err)
			continue
		}
		out.Containers = append(out.Containers, containerName(c.Names, c.ID))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return out, errors.Join(append(errs, err)...)
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, err)
			continue
		}
		out.Networks = append(out.Networks, n.Name)
	}
	return out, errors.Join(errs...)
}

func containerName(names []string, id string) string {
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return id[:min(12, len(id))]
}
