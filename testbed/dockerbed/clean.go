package dockerbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/testbed/netns"
	"github.com/moby/moby/client"
)

// Remains is what runs left in a Docker engine.
type Remains struct {
	// Containers, Networks and Images are their names; Folders the work
	// folders on this machine.
	Containers, Networks, Images, Folders []string
}

// Empty reports whether nothing remains.
func (r Remains) Empty() bool {
	return len(r.Containers)+len(r.Networks)+len(r.Images)+len(r.Folders) == 0
}

// String lists what remains, "nothing" when nothing does.
func (r Remains) String() string {
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"docker containers", r.Containers}, {"docker networks", r.Networks}, {"docker images", r.Images}, {"work folders", r.Folders}} {
		if len(p.names) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", p.what, strings.Join(p.names, ", ")))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func (r *Remains) add(o Remains) {
	r.Containers = append(r.Containers, o.Containers...)
	r.Networks = append(r.Networks, o.Networks...)
	r.Images = append(r.Images, o.Images...)
	r.Folders = append(r.Folders, o.Folders...)
}

// CleanOptions chooses what Clean removes.
type CleanOptions struct {
	// All removes the remains of runs still going too (they fail), and
	// those of runs made on another machine.
	All bool
	// Owner, when not 0, looks only at what the process Owner made.
	Owner int
	// Images also removes the cached images no container uses.
	Images bool
}

// Clean removes the containers and networks of runs whose lblab process
// is gone (a run killed outright, SIGKILL), found by their labels; a run
// whose process still runs, or that another machine made, is kept
// (listed in kept) unless opt.All. With opt.Images it also removes the
// lblab images no container uses. It returns what it removed and kept.
// No engine (Available's error) is an error.
func Clean(ctx context.Context, opt CleanOptions) (removed, kept Remains, err error) {
	p, err := provider()
	if err != nil {
		return removed, kept, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	cli := p.Client()
	runs, err := owners(ctx, cli)
	if err != nil {
		return removed, kept, err
	}
	host, _ := os.Hostname()
	var errs []error
	for _, run := range sortedKeys(runs) {
		o := runs[run]
		if opt.Owner != 0 && o.pid != opt.Owner {
			continue
		}
		live := o.client != host || (o.pid > 0 && netns.StartTime(o.pid) != 0 && (o.start == 0 || netns.StartTime(o.pid) == o.start))
		if live && !opt.All {
			r, err := leftovers(ctx, cli, make(client.Filters).Add("label", LabelRun+"="+run))
			if err != nil {
				errs = append(errs, err)
			}
			kept.add(r)
			continue
		}
		r, err := removeRun(ctx, cli, run)
		if o.client == host {
			dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), WorkPrefix+run+"-*"))
			for _, d := range dirs {
				if os.RemoveAll(d) == nil {
					r.Folders = append(r.Folders, d)
				}
			}
		}
		removed.add(r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if opt.Images {
		r, err := removeImages(ctx, cli, 0)
		removed.add(r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, kept, errors.Join(errs...)
}

// owner is who made a run.
type owner struct {
	pid    int
	start  uint64
	client string
}

// owners returns the runs that have containers or networks, with their
// owners, from the labels.
func owners(ctx context.Context, cli client.APIClient) (map[string]owner, error) {
	runs := map[string]owner{}
	note := func(l map[string]string) {
		run := l[LabelRun]
		if run == "" {
			return
		}
		pid, _ := strconv.Atoi(l[LabelPID])
		start, _ := strconv.ParseUint(l[LabelStart], 10, 64)
		runs[run] = owner{pid: pid, start: start, client: l[LabelClient]}
	}
	f := make(client.Filters).Add("label", LabelRun)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: listing containers: %w", err)
	}
	for _, c := range cs.Items {
		note(c.Labels)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: listing networks: %w", err)
	}
	for _, n := range ns.Items {
		note(n.Labels)
	}
	return runs, nil
}

// removeImages removes the lblab images (LabelHash) no container uses
// that are older than age (0: all of them).
func removeImages(ctx context.Context, cli client.APIClient, age time.Duration) (Remains, error) {
	var out Remains
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelHash)})
	if err != nil {
		return out, fmt.Errorf("docker: listing images: %w", err)
	}
	var errs []error
	for _, im := range imgs.Items {
		if im.Containers > 0 || age > 0 && time.Since(time.Unix(im.Created, 0)) < age {
			continue
		}
		if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{PruneChildren: true}); err != nil && !isNotFound(err) {
			if strings.Contains(err.Error(), "being used") || strings.Contains(err.Error(), "is using") {
				continue
			}
			errs = append(errs, err)
			continue
		}
		name := im.ID
		if len(im.RepoTags) > 0 {
			name = im.RepoTags[0]
		}
		out.Images = append(out.Images, name)
	}
	return out, errors.Join(errs...)
}

// Leftovers lists the containers and networks labelled with run id run,
// or with any run id when run is "", and the lblab images when images.
func Leftovers(ctx context.Context, run string, images bool) (Remains, error) {
	p, err := provider()
	if err != nil {
		return Remains{}, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	label := LabelRun
	if run != "" {
		label += "=" + run
	}
	r, err := leftovers(ctx, p.Client(), make(client.Filters).Add("label", label))
	if err != nil || !images {
		return r, err
	}
	imgs, err := p.Client().ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelHash)})
	if err != nil {
		return r, err
	}
	for _, im := range imgs.Items {
		name := im.ID
		if len(im.RepoTags) > 0 {
			name = im.RepoTags[0]
		}
		r.Images = append(r.Images, name)
	}
	return r, nil
}

// LeftoversOf lists the containers and networks of the runs of process
// pid.
func LeftoversOf(ctx context.Context, pid int) (Remains, error) {
	p, err := provider()
	if err != nil {
		return Remains{}, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	return leftovers(ctx, p.Client(), make(client.Filters).Add("label", LabelPID+"="+strconv.Itoa(pid)))
}

func leftovers(ctx context.Context, cli client.APIClient, f client.Filters) (Remains, error) {
	var r Remains
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return r, fmt.Errorf("docker: listing containers: %w", err)
	}
	for _, c := range cs.Items {
		r.Containers = append(r.Containers, containerName(c.Names, c.ID))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return r, fmt.Errorf("docker: listing networks: %w", err)
	}
	for _, n := range ns.Items {
		r.Networks = append(r.Networks, n.Name)
	}
	return r, nil
}

func sortedKeys(m map[string]owner) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
