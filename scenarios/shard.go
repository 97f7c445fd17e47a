package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/reports"
	"github.com/lblab/lblab/scenarios/labfile"
)

// SeedsFile is the file of a sweep's folder that holds each seed's
// results (seeds.jsonl): a header line (SeedsHeader), then one SeedRecord
// a line in seed order. lblab merge reads it to make one sweep of many
// folders.
const SeedsFile = "seeds.jsonl"

// seedsFormat names the layout of SeedsFile; a folder of another is refused.
const seedsFormat = "lblab-seeds/1"

// SweepOrigin says how a sweep was asked for: what lblab merge needs to
// load the same lab again, and the range of seeds of the whole sweep (a
// shard runs a part of it).
type SweepOrigin struct {
	// Lab is the lab as given on the command line: a catalog name or a
	// file's path.
	Lab string `json:"lab"`
	// Sets are the --set overrides, in order; Impl is --impl.
	Sets []string `json:"sets,omitempty"`
	Impl string   `json:"impl,omitempty"`
	// First and Seeds are the whole sweep's seeds: First .. First+Seeds−1.
	First uint64 `json:"first"`
	Seeds int    `json:"seeds"`
}

// SeedsHeader is the first line of SeedsFile.
type SeedsHeader struct {
	// Format is "lblab-seeds/1".
	Format string `json:"format"`
	// Mode is the world the seeds ran in.
	Mode string `json:"mode"`
	SweepOrigin
}

// SeedRecord is one seed's line of SeedsFile.
type SeedRecord struct {
	// Seed is the seed.
	Seed uint64 `json:"seed"`
	// History is the seed's history file from the folder
	// (histories/seed-N.jsonl), when the sweep wrote one.
	History string `json:"history,omitempty"`
	// Results are the seed's results: complete for a seed that failed;
	// for one that passed, its expectations' names and verdicts and the
	// metrics the sweep summarizes.
	Results reports.Results `json:"results"`
}

// ShardRange returns the seeds of shard index of a sweep of n seeds from
// base cut into shards of size seeds: base+index·size on, size seeds, the
// last shard shorter when size does not divide n (ceil(n/size) shards in
// all). An index past the last shard, a size below 1 or a range past
// 2^64−1 is an error.
func ShardRange(base uint64, n, size, index int) (first uint64, seeds int, err error) {
	if err := CheckSeeds(base, n); err != nil {
		return 0, 0, err
	}
	if size < 1 {
		return 0, 0, &labfile.InputError{Err: i18n.Errorf("--shard-size must be at least 1, got %d", size)}
	}
	shards := Shards(n, size)
	if index < 0 || index >= shards {
		return 0, 0, &labfile.InputError{Err: i18n.Errorf("shard index %d is not one of the %d shards (0 to %d) of %d seeds by %d", index, shards, shards-1, n, size)}
	}
	return base + uint64(index)*uint64(size), min(size, n-index*size), nil
}

// Shards is how many shards of size seeds a sweep of n seeds takes:
// ceil(n/size).
func Shards(n, size int) int { return (n + size - 1) / size }

// keptResults is r as a sweep keeps a passing seed's: its expectations'
// names and verdicts and the metrics named in keep (see compact).
func keptResults(r reports.Results, keep map[string]bool) reports.Results {
	xs := make([]reports.Expectation, len(r.Expectations))
	for i, x := range r.Expectations {
		xs[i] = reports.Expectation{Name: x.Name, Passed: x.Passed}
	}
	m := map[string]any{}
	for k, v := range r.Metrics {
		if keep[k] {
			m[k] = v
		}
	}
	r.Expectations, r.Metrics, r.Warnings, r.WarningTexts, r.FaultNamesZh = xs, m, nil, nil, nil
	return r
}

// writeSeeds writes SeedsFile in dir: the header, then a record for each
// run, histories named as Write listed them in s.Results.Histories.
func (s *SweepOutcome) writeSeeds(dir string) error {
	o := s.Origin
	if o.Lab == "" {
		o.Lab = s.Lab.Name
	}
	if o.Seeds == 0 {
		o.First, o.Seeds = s.Results.Seed, s.Results.Seeds
		if n, ok := s.Results.Metrics["seeds_requested"].(int); ok {
			o.Seeds = n
		}
	}
	files := map[uint64]string{}
	for _, h := range s.Results.Histories {
		files[h.Seed] = h.File
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(SeedsHeader{Format: seedsFormat, Mode: s.Results.Mode, SweepOrigin: o}); err != nil {
		return err
	}
	keep := sweepMetricNames(s.Lab)
	for _, r := range s.Runs {
		res := r.Results
		if res.Passed {
			res = keptResults(res, keep)
		}
		if err := enc.Encode(SeedRecord{Seed: r.Seed, History: files[r.Seed], Results: res}); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, SeedsFile), b.Bytes(), 0o644)
}

// MergeNotes are what a merge found beside the seeds it kept.
type MergeNotes struct {
	// Origin is the merged sweep's: its lab and the union of the
	// folders' ranges.
	Origin SweepOrigin
	// Mode is the world the seeds ran in.
	Mode string
	// Missing are the seeds of the range no folder holds.
	Missing []uint64
	// Duplicates is how many seeds came more than once with the same
	// results (a retried shard in the simulator): each counts once.
	Duplicates int
	// Conflicts are the seeds that came more than once with different
	// results (a retried shard on real hosts measures other times).
	Conflicts []SeedConflict
}

// SeedConflict is a seed two folders hold with different results.
type SeedConflict struct {
	// Seed is the seed; Kept is the folder whose record the merge kept
	// (of those with the seed, the one whose record sorts first as JSON,
	// then by folder name: the same whatever the folders' order), Others
	// the other folders.
	Seed   uint64
	Kept   string
	Others []string
}

// maxSeedsLine is the longest line of a SeedsFile read (a failing seed's
// results with every expectation's words): 16 MiB.
const maxSeedsLine = 16 << 20

// seedsFolder is one folder's SeedsFile, read.
type seedsFolder struct {
	dir     string
	header  SeedsHeader
	records []SeedRecord
	raw     [][]byte // each record's line
}

// readSeedsFolder reads dir's results.json (it must be a sweep's) and
// SeedsFile; every problem is an error naming the file (and line).
func readSeedsFolder(dir string) (*seedsFolder, error) {
	rpath := filepath.Join(dir, "results.json")
	b, err := readBounded(rpath, 256<<20)
	if err != nil {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s: %w", rpath, err)}
	}
	var res reports.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s: not a results.json: %w", rpath, err)}
	}
	if res.Seeds == 0 {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s: the results of one run, not of a sweep (no seeds): merge takes the folders of lblab run --seeds", rpath)}
	}
	spath := filepath.Join(dir, SeedsFile)
	f, err := os.Open(spath)
	if err != nil {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s: %w (a sweep's folder written by an lblab older than merge has none: run the sweep again)", spath, err)}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxSeedsLine)
	sf := &seedsFolder{dir: dir}
	line := 0
	bad := func(t i18n.Text) error {
		return &labfile.InputError{Err: i18n.Errorf("%s:%d: %s", spath, line, t)}
	}
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if line == 1 {
			if err := dec.Decode(&sf.header); err != nil {
				return nil, bad(i18n.T("not a seeds header: %v", err))
			}
			h := sf.header
			if h.Format != seedsFormat {
				return nil, bad(i18n.T("format %q, want %q", h.Format, seedsFormat))
			}
			if err := CheckSeeds(h.First, h.Seeds); err != nil {
				return nil, bad(i18n.T("%v", err))
			}
			if h.Lab == "" || h.Mode == "" {
				return nil, bad(i18n.T("the header names no lab or no mode"))
			}
			continue
		}
		var r SeedRecord
		if err := dec.Decode(&r); err != nil {
			return nil, bad(i18n.T("not a seed's record: %v", err))
		}
		h := sf.header
		if r.Seed < h.First || r.Seed-h.First >= uint64(h.Seeds) {
			return nil, bad(i18n.T("seed %d is not in the header's range %d to %d", r.Seed, h.First, h.First+uint64(h.Seeds)-1))
		}
		if r.History != "" && r.History != fmt.Sprintf("histories/seed-%d.jsonl", r.Seed) {
			return nil, bad(i18n.T("seed %d: history %q, want histories/seed-%d.jsonl", r.Seed, r.History, r.Seed))
		}
		if len(sf.records) >= h.Seeds {
			return nil, bad(i18n.T("more records than the header's %d seeds", h.Seeds))
		}
		sf.records = append(sf.records, r)
		sf.raw = append(sf.raw, append([]byte(nil), raw...))
	}
	if err := sc.Err(); err != nil {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s:%d: %w", spath, line+1, err)}
	}
	if line == 0 {
		return nil, &labfile.InputError{Err: i18n.Errorf("%s: empty", spath)}
	}
	return sf, nil
}

// readBounded reads the file at path, refusing one larger than limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, i18n.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// MergeSweeps reads the sweep folders dirs (shards of one sweep, from
// any machines, in any order) and returns the one sweep they make, as
// one machine would have run it: its seeds are the union of the folders'
// ranges, each seed's results taken once, the failing seeds' histories
// copied from their folders by Write. load loads the lab the folders
// name (their origin; all must agree, and so must their world). A seed
// no folder holds is listed in the results' missing_seeds and the sweep
// does not pass. The caller compares a real world's sweep with the
// simulator's (CompareWith), as lblab run does.
func MergeSweeps(ctx context.Context, dirs []string, load func(SweepOrigin) (*labfile.Lab, error)) (*SweepOutcome, *MergeNotes, error) {
	if len(dirs) == 0 {
		return nil, nil, &labfile.InputError{Err: i18n.Errorf("merge: no folders")}
	}
	var folders []*seedsFolder
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		sf, err := readSeedsFolder(d)
		if err != nil {
			return nil, nil, err
		}
		folders = append(folders, sf)
	}
	first := folders[0].header
	lo, hi := first.First, first.First+uint64(first.Seeds-1)
	for _, sf := range folders[1:] {
		h := sf.header
		if h.Mode != first.Mode || h.Lab != first.Lab || h.Impl != first.Impl || !slices.Equal(h.Sets, first.Sets) {
			return nil, nil, &labfile.InputError{Err: i18n.Errorf("merge: %s holds lab %s (%s, --set %s, --impl %q) and %s lab %s (%s, --set %s, --impl %q): one sweep's folders only",
				folders[0].dir, first.Lab, first.Mode, strings.Join(first.Sets, " "), first.Impl, sf.dir, h.Lab, h.Mode, strings.Join(h.Sets, " "), h.Impl)}
		}
		lo, hi = min(lo, h.First), max(hi, h.First+uint64(h.Seeds-1))
	}
	if hi-lo >= MaxSeeds {
		return nil, nil, &labfile.InputError{Err: i18n.Errorf("merge: the folders' seeds span %d to %d, more than %d seeds", lo, hi, MaxSeeds)}
	}
	n := int(hi-lo) + 1
	origin := first.SweepOrigin
	origin.Sets = slices.Clone(first.Sets)
	origin.First, origin.Seeds = lo, n
	lab, err := load(origin)
	if err != nil {
		return nil, nil, err
	}
	type candidate struct {
		folder *seedsFolder
		i      int
	}
	bySeed := map[uint64][]candidate{}
	for _, sf := range folders {
		for i, r := range sf.records {
			if len(r.Results.Expectations) < len(lab.Expect) {
				return nil, nil, &labfile.InputError{Err: i18n.Errorf("merge: %s: seed %d has %d expectations, the lab %s %d: the folder is of another lab",
					filepath.Join(sf.dir, SeedsFile), r.Seed, len(r.Results.Expectations), lab.Name, len(lab.Expect))}
			}
			for j, e := range lab.Expect {
				if r.Results.Expectations[j].Name != e.Name {
					return nil, nil, &labfile.InputError{Err: i18n.Errorf("merge: %s: seed %d: expectation %d is %q, the lab's %q: the folder is of another lab",
						filepath.Join(sf.dir, SeedsFile), r.Seed, j+1, r.Results.Expectations[j].Name, e.Name)}
				}
			}
			bySeed[r.Seed] = append(bySeed[r.Seed], candidate{sf, i})
		}
	}
	notes := &MergeNotes{Origin: origin, Mode: first.Mode}
	runs := make([]*Outcome, 0, len(bySeed))
	from := map[uint64]string{}
	for k := range n {
		seed := lo + uint64(k)
		cs := bySeed[seed]
		if len(cs) == 0 {
			notes.Missing = append(notes.Missing, seed)
			continue
		}
		recordOf := func(c candidate) []byte { return recordKey(c.folder.records[c.i]) }
		sort.SliceStable(cs, func(a, b int) bool {
			if c := bytes.Compare(recordOf(cs[a]), recordOf(cs[b])); c != 0 {
				return c < 0
			}
			return cs[a].folder.dir < cs[b].folder.dir
		})
		if len(cs) > 1 {
			same := true
			var others []string
			for _, c := range cs[1:] {
				same = same && bytes.Equal(recordOf(c), recordOf(cs[0]))
				others = append(others, c.folder.dir)
			}
			if same {
				notes.Duplicates++
			} else {
				notes.Conflicts = append(notes.Conflicts, SeedConflict{Seed: seed, Kept: cs[0].folder.dir, Others: others})
			}
		}
		r := cs[0].folder.records[cs[0].i]
		if r.History != "" {
			from[seed] = filepath.Join(cs[0].folder.dir, filepath.FromSlash(r.History))
		}
		runs = append(runs, &Outcome{Lab: lab, Seed: seed, Results: r.Results})
	}
	s := summarize(lab, first.Mode, lo, runs)
	s.Origin = origin
	s.historyFrom = from
	if len(notes.Missing) > 0 {
		s.Results.Passed = false
		s.Results.MissingSeeds = notes.Missing
		s.Results.Metrics["seeds_requested"] = n
	}
	return s, notes, nil
}

// recordKey is a record as the merge compares it: its results and
// whether it has a history, as JSON.
func recordKey(r SeedRecord) []byte {
	b, err := json.Marshal(struct {
		History bool            `json:"history"`
		Results reports.Results `json:"results"`
	}{r.History != "", r.Results})
	if err != nil {
		return nil
	}
	return b
}

// copyHistory copies a merged seed's history from the file src to dst.
func copyHistory(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SeedsList says a list of seeds in order briefly: runs of consecutive
// seeds as FIRST-LAST, the first ten runs and how many more.
func SeedsList(seeds []uint64) string {
	var parts []string
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(seeds[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seeds[i], seeds[j]))
		}
		i = j + 1
	}
	if len(parts) > 10 {
		return strings.Join(parts[:10], ", ") + fmt.Sprintf(", … (%d more)", len(parts)-10)
	}
	return strings.Join(parts, ", ")
}
