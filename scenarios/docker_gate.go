package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/lblab/lblab/testbed/dockerbed"
)

// dockerGateDir is where the containers see the gate's folder on a local
// engine (bind-mounted read-write).
const dockerGateDir = "/lblab/gate"

// dockerGate holds the docker world's VRRP agents until the lab's time
// 0, through three files per container (lblab vrrp --wait-file,
// --ready-file, --start-file): the names file, written once the
// container's interfaces have the lab's names, lets the agent open its
// sockets; the agent writes its ready file then; the start file, holding
// the epoch, lets every agent start its instances at time 0.
//
// On a local engine the files live in a folder of this machine
// bind-mounted into every container (dir): the runner writes one start
// file that every agent sees at once, and sees a ready file as soon as
// it is written, with no call to the engine. On a remote engine (dir "")
// each file is copied into or out of each container by the engine: tens
// of milliseconds a file, more than a second on a loaded machine, which
// dockerStartLead covers.
type dockerGate struct {
	dir string
}

// paths returns, in container c (by its spec name), the names, ready
// and start files.
func (g dockerGate) paths(name string) (names, ready, start string) {
	if g.dir == "" {
		return dockerNamesFile, dockerReadyFile, dockerStartFile
	}
	return dockerGateDir + "/" + name + ".names", dockerGateDir + "/" + name + ".ready", dockerGateDir + "/start"
}

// args are lblab vrrp's flags for container name.
func (g dockerGate) args(name string) []string {
	names, ready, start := g.paths(name)
	return []string{"--wait-file", names, "--ready-file", ready, "--start-file", start}
}

// binds are the bind mounts a container needs.
func (g dockerGate) binds() []string {
	if g.dir == "" {
		return nil
	}
	return []string{g.dir + ":" + dockerGateDir}
}

// onHost is where a file of the gate's folder is on this machine.
func (g dockerGate) onHost(inContainer string) string {
	return filepath.Join(g.dir, filepath.Base(inContainer))
}

// write puts data in file p of container c, whole (a rename on a local
// engine).
func (g dockerGate) write(ctx context.Context, c *dockerbed.Container, p string, data []byte) error {
	if g.dir == "" {
		return c.WriteFile(ctx, p, data)
	}
	tmp := g.onHost(p) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, g.onHost(p))
}

// named lets the agent of container c (spec name) open its sockets.
func (g dockerGate) named(ctx context.Context, c *dockerbed.Container, name string) error {
	names, _, _ := g.paths(name)
	return g.write(ctx, c, names, []byte("names\n"))
}

// ready reports whether the agent of container c (spec name) has its
// sockets open and joined.
func (g dockerGate) ready(ctx context.Context, c *dockerbed.Container, name string) (bool, error) {
	_, ready, _ := g.paths(name)
	var err error
	if g.dir == "" {
		_, err = c.ReadFile(ctx, ready)
	} else {
		_, err = os.Stat(g.onHost(ready))
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// release writes the start file with epoch (Unix nanoseconds) for the
// agents of containers cs (spec names in names): once on a local engine
// (every agent, and every later one, reads the same file), into each
// container, at once, on a remote one.
func (g dockerGate) release(ctx context.Context, cs []*dockerbed.Container, names []string, epoch int64) error {
	line := fmt.Appendf(nil, "%d\n", epoch)
	if g.dir != "" {
		_, _, start := g.paths("")
		return g.write(ctx, nil, start, line)
	}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		_, _, start := g.paths(names[i])
		wg.Go(func() { errs[i] = g.write(ctx, c, start, line) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
