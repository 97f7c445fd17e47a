package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/i18n"
)

// A run's folder holds, beside history.jsonl and results.json, the file
// InputsFile (report.json): whatever its report shows that is neither in
// the history nor in the results. lblab run draws report.html from the
// folder's files (WriteRun), and lblab report DIR draws the same page from
// the same files (ReadFolder), so a redrawn report is the run's report,
// byte for byte, in every world (sim, netns) and for sweeps.
//
// report.json, format 1, is one JSON object:
//
//	{
//	  "format": 1,                 // FormatVersion; a newer one is refused
//	  "lab": "vrrp-failover",      // the lab's name, as in results.json
//	  "lang": "en",                // language of the run's own report: en or zh
//	  "title": "...", "title_zh": "...",
//	  "teaching": "...", "teaching_zh": "...",
//	  "duration_s": 30,            // end of the time axes, seconds
//	  "theory": [{"vrid": 51, "version": 2, "interval_s": 1,
//	              "backup_priority": 100, "skew_s": 0.609375,
//	              "mdi_s": 3.609375, "formula": "3 × 1 s + ...",
//	              "lo_s": 2.609375, "hi_s": 3.609375}],
//	  "marks": [{"from_s": 10.2, "to_s": 13.4, "key": "markTheory",
//	             "args": ["failover", "3.2 s", "[2.6 s, 3.6 s]"]}],
//	  "shares": [{"group": "web", "server": "a:80", "expected": 0.5}],
//	  "sweep": {"metric": "failover_s", "values": [...], "lo": 2.6,
//	            "hi": 3.6, "ks": 0.02},
//	  "sweep_metrics": [{"name": "p99_ms", "values": [...]}],
//	  "topology": {"vpcs": [{"name": "vpc-a", "cidr": "192.168.6.0/25"}],
//	               "vswitches": [{"name": "vsw-a", "vpc": "vpc-a",
//	                              "zone": "cn-hangzhou-h", "cidr": "..."}],
//	               "hosts": [{"name": "ecs-a", "vswitch": "vsw-a",
//	                          "address": "192.168.6.76"}],
//	               "peerings": [{"name": "pcc-ab", "vpc": "vpc-a",
//	                             "peer_vpc": "vpc-b"}]}
//	}
//
// Times named *_s are seconds with exact nanoseconds (as history.jsonl
// writes them). Texts are stored in both languages (the _zh fields are
// omitted when the lab has none), so a run in one language redraws in
// the other; expectation and fault names in Chinese are in results.json
// (name_zh, fault_names_zh). A folder without report.json (lblab load
// --out, or a run of an lblab older than format 1) still draws, without
// title, teaching text, theory, marks or expected shares, its time axis
// ending at the last event.

// InputsFile is the name of the file of a run's folder that holds the
// report's inputs (Inputs).
const InputsFile = "report.json"

// FormatVersion is the version of the report.json format this lblab
// writes. It reads versions 1 to FormatVersion and refuses newer ones.
const FormatVersion = 1

// MaxFolderFile is the largest results.json or report.json lblab reads:
// 64 MiB (a 100,000-seed sweep's report.json holds about 10 MB).
const MaxFolderFile = 64 << 20

// maxRunDuration bounds report.json's duration_s: a lab runs 24 h at
// most.
const maxRunDuration = 24 * time.Hour

// Inputs is what a run's report needs beside its history and results,
// as report.json holds it (see inputsFile for each field's unit and
// range).
type Inputs struct {
	// Lab is the lab's name; it must be results.json's lab.
	Lab string
	// Lang is the language of the report the run drew: LangEnglish or
	// LangChinese. lblab report draws in it unless --lang says another.
	Lang string
	// Title and TitleZh are the lab's title and its title_zh ("" when
	// the lab has none: the title then shows in Chinese too).
	Title, TitleZh string
	// Teaching and TeachingZh are the lab's teaching text and its
	// teaching_zh, paragraphs separated by blank lines.
	Teaching, TeachingZh string
	// Duration is the lab's duration: the end of the report's time axes
	// (a plot still reaches an event after it); 0 to 24 h.
	Duration time.Duration
	// Theory is the timing theory of each VRRP group (the theory boxes).
	Theory []VRRPTheory
	// Marks annotate the timeline (fault → takeover) and the marks table.
	Marks []Mark
	// Shares are the expected shares of a load-balancer lab's servers
	// (the share plots' expected bars and lines).
	Shares []Share
	// Sweep is a sweep's distribution of its sweep metric; nil for a
	// single run.
	Sweep *Sweep
	// SweepMetrics are a load-balancer sweep's distributions of metrics.
	SweepMetrics []SweepMetric
	// Topology is the lab's cloud network (VPCs, vswitches, hosts,
	// peerings) for the topology figure; nil for a lab without one.
	Topology *Topology
}

// inputsFile is report.json, format FormatVersion: Inputs with times as
// seconds of exact nanoseconds (history.Stamp), field names in
// snake_case with the unit (_s) where there is one.
type inputsFile struct {
	// Format is the version of the format: FormatVersion. Required.
	Format int `json:"format"`
	// Lab, Lang, Title, TitleZh, Teaching, TeachingZh are Inputs'.
	Lab        string `json:"lab"`
	Lang       string `json:"lang"`
	Title      string `json:"title"`
	TitleZh    string `json:"title_zh,omitempty"`
	Teaching   string `json:"teaching,omitempty"`
	TeachingZh string `json:"teaching_zh,omitempty"`
	// Duration is Inputs.Duration in seconds, 0 to 86400.
	Duration seconds `json:"duration_s"`
	// Theory, Marks: see theoryJSON and markJSON.
	Theory []theoryJSON `json:"theory,omitempty"`
	Marks  []markJSON   `json:"marks,omitempty"`
	// Shares, Sweep and SweepMetrics are written as their types' JSON
	// tags say (numbers in the unit of their metric, shares in 0..1).
	Shares       []Share       `json:"shares,omitempty"`
	Sweep        *Sweep        `json:"sweep,omitempty"`
	SweepMetrics []SweepMetric `json:"sweep_metrics,omitempty"`
	// Topology is the lab's cloud network, as Topology's JSON tags say.
	Topology *Topology `json:"topology,omitempty"`
}

// seconds is a time in report.json: a JSON number of seconds, exact to
// the nanosecond (as history.Stamp writes it).
type seconds history.Stamp

// MarshalJSON writes s as history.Stamp does: 3.609375.
func (s seconds) MarshalJSON() ([]byte, error) { return history.Stamp(s).MarshalJSON() }

// UnmarshalJSON reads a JSON number of seconds; anything else (a string,
// null) is a type error, which names the field.
func (s *seconds) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[float64]()}
	}
	return (*history.Stamp)(s).UnmarshalJSON(b)
}

// String writes s as seconds with the unit: "3.609375 s".
func (s seconds) String() string { return fmtDuration(s.d()) }

func (s seconds) d() time.Duration { return time.Duration(s) }

// jsonKind names the kind of a JSON value as encoding/json's errors do.
func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return string(b)
}

// theoryJSON is a VRRPTheory in report.json: times in seconds.
type theoryJSON struct {
	VRID           int     `json:"vrid"`
	Version        int     `json:"version"`
	Interval       seconds `json:"interval_s"`
	BackupPriority int     `json:"backup_priority"`
	Skew           seconds `json:"skew_s"`
	MDI            seconds `json:"mdi_s"`
	Formula        string  `json:"formula"`
	Lo             seconds `json:"lo_s"`
	Hi             seconds `json:"hi_s"`
}

// markJSON is a Mark in report.json: times in seconds, each argument as
// its text (the marks' sentences take %s only).
type markJSON struct {
	From  seconds  `json:"from_s"`
	To    seconds  `json:"to_s"`
	Label string   `json:"label,omitempty"`
	Key   string   `json:"key,omitempty"`
	Args  []string `json:"args,omitempty"`
}

// file returns in as report.json holds it.
func (in Inputs) file() inputsFile {
	f := inputsFile{Format: FormatVersion, Lab: in.Lab, Lang: in.Lang, Title: in.Title, TitleZh: in.TitleZh,
		Teaching: in.Teaching, TeachingZh: in.TeachingZh, Duration: seconds(in.Duration),
		Shares: in.Shares, Sweep: in.Sweep, SweepMetrics: in.SweepMetrics, Topology: in.Topology}
	for _, t := range in.Theory {
		f.Theory = append(f.Theory, theoryJSON{t.VRID, t.Version, seconds(t.Interval), t.BackupPriority,
			seconds(t.Skew), seconds(t.MDI), t.Formula, seconds(t.Lo), seconds(t.Hi)})
	}
	for _, m := range in.Marks {
		j := markJSON{From: seconds(m.From), To: seconds(m.To), Label: m.Label, Key: m.Key}
		for _, a := range m.Args {
			j.Args = append(j.Args, fmt.Sprint(a))
		}
		f.Marks = append(f.Marks, j)
	}
	return f
}

// inputs returns the Inputs f holds.
func (f inputsFile) inputs() Inputs {
	in := Inputs{Lab: f.Lab, Lang: f.Lang, Title: f.Title, TitleZh: f.TitleZh, Teaching: f.Teaching,
		TeachingZh: f.TeachingZh, Duration: f.Duration.d(), Shares: f.Shares, Sweep: f.Sweep, SweepMetrics: f.SweepMetrics,
		Topology: f.Topology}
	for _, t := range f.Theory {
		in.Theory = append(in.Theory, VRRPTheory{VRID: t.VRID, Version: t.Version, Interval: t.Interval.d(),
			BackupPriority: t.BackupPriority, Skew: t.Skew.d(), MDI: t.MDI.d(), Formula: t.Formula,
			Lo: t.Lo.d(), Hi: t.Hi.d()})
	}
	for _, j := range f.Marks {
		m := Mark{From: j.From.d(), To: j.To.d(), Label: j.Label, Key: j.Key}
		for _, a := range j.Args {
			m.Args = append(m.Args, a)
		}
		in.Marks = append(in.Marks, m)
	}
	return in
}

// Folder is what a run's folder holds for its report, beside its history.
type Folder struct {
	// Dir is the folder.
	Dir string
	// Results is results.json; when the folder has none, the lab is named
	// after the folder.
	Results Results
	// Inputs is report.json; nil when the folder has none.
	Inputs *Inputs
}

// Sweep reports whether the folder is a sweep's (results.json counts
// seeds): it has no history.jsonl of its own.
func (f *Folder) Sweep() bool { return f.Results.Seeds > 0 }

// Report returns the folder's report in language code (LangEnglish,
// LangChinese; "" is the language the run drew its report in) over the
// run's history events (nil for a sweep).
func (f *Folder) Report(code string, events []history.Event) Report {
	r := Report{Lab: f.Results.Lab, Title: f.Results.Lab, Results: f.Results, History: events}
	in := f.Inputs
	if in == nil {
		r.Lang = orEnglish(code)
		for _, e := range events {
			r.Duration = max(r.Duration, e.T.Duration())
		}
		return r
	}
	if code == "" {
		code = in.Lang
	}
	r.Lang = orEnglish(code)
	r.Title, r.Teaching = in.Title, in.Teaching
	if r.Lang == LangChinese {
		r.Title, r.Teaching = or(in.TitleZh, in.Title), or(in.TeachingZh, in.Teaching)
	}
	r.Duration = in.Duration
	r.Theory, r.Marks, r.Shares = in.Theory, in.Marks, in.Shares
	r.Sweep, r.SweepMetrics = in.Sweep, in.SweepMetrics
	r.Topology = in.Topology
	return r
}

func orEnglish(code string) string {
	if code == LangChinese {
		return code
	}
	return LangEnglish
}

func or(s, otherwise string) string {
	if s != "" {
		return s
	}
	return otherwise
}

// WriteRun writes a run's results.json and report.json (in, its format
// set to FormatVersion) into dir, then draws report.html and its plots
// from the folder as lblab report does (ReadFolder, Folder.Report), in
// in.Lang, over events (the history the run wrote to dir/history.jsonl;
// nil for a sweep). It returns the path of report.html.
func WriteRun(dir string, res Results, in Inputs, events []history.Event) (string, error) {
	f, err := writeFolder(dir, res, in)
	if err != nil {
		return "", err
	}
	return Write(dir, f.Report("", events))
}

// WriteRunCollected is WriteRun over a history that the run wrote to
// dir/history.jsonl as c collected it: the report is drawn from c, or,
// when c's buckets were cut for another end than the report's, from the
// file read again (Folder.StreamReport), so that it is the report lblab
// report draws.
func WriteRunCollected(dir string, res Results, in Inputs, c *Collector) (string, error) {
	f, err := writeFolder(dir, res, in)
	if err != nil {
		return "", err
	}
	r := f.Report("", nil)
	if c.Fits(r.Duration.Seconds()) {
		r.History, r.Collected = c.Events(), c
		return Write(dir, r)
	}
	hpath := filepath.Join(dir, "history.jsonl")
	r, err = f.StreamReport("", func(sink history.Sink) error {
		file, err := os.Open(hpath)
		if err != nil {
			return err
		}
		defer file.Close()
		return history.ReadJSONLTo(file, hpath, sink)
	})
	if err != nil {
		return "", err
	}
	return Write(dir, r)
}

// writeFolder writes results.json and report.json into dir and reads the
// folder back.
func writeFolder(dir string, res Results, in Inputs) (*Folder, error) {
	if err := WriteResults(dir, res); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(in.file(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", InputsFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, InputsFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", InputsFile, err)
	}
	return ReadFolder(dir)
}

// StreamReport is Report over the run's history as replay passes it to a
// sink, one event at a time (history.ReadJSONLTo of its history.jsonl),
// so that drawing does not hold the history. It replays it a second time
// when the first pass finds the report ends later than the folder said
// (or the folder does not say: no report.json), the time buckets being
// cut for the end.
func (f *Folder) StreamReport(code string, replay func(history.Sink) error) (Report, error) {
	r := f.Report(code, nil)
	pass := func(end float64) (*Collector, error) {
		c := NewCollector(end)
		return c, replay(c)
	}
	c, err := pass(r.Duration.Seconds())
	if err != nil {
		return Report{}, err
	}
	if f.Inputs == nil {
		r.Duration = c.Last().Duration() // as Report does over the events
	}
	if !c.Fits(r.Duration.Seconds()) {
		if c, err = pass(c.End(r.Duration.Seconds())); err != nil {
			return Report{}, err
		}
	}
	r.History, r.Collected = c.Events(), c
	return r, nil
}

// ReadFolder reads a run's folder: results.json and report.json, each
// when present. A file larger than MaxFolderFile, one that is not the
// JSON its format says (its error names FILE:LINE:COL and the field),
// a report.json of a newer format or with values out of their range, or
// one of another lab than results.json's, is an error.
func ReadFolder(dir string) (*Folder, error) {
	f := &Folder{Dir: dir}
	rpath := filepath.Join(dir, "results.json")
	b, err := readBounded(rpath)
	switch {
	case err == nil:
		if err := decodeJSON(rpath, b, &f.Results, false); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if f.Results.Lab == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		f.Results.Lab = filepath.Base(abs)
	}
	if f.Results.Metrics == nil {
		f.Results.Metrics = map[string]any{}
	}
	ipath := filepath.Join(dir, InputsFile)
	b, err = readBounded(ipath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, err
	}
	var version struct {
		Format *json.RawMessage `json:"format"`
	}
	if err := decodeJSON(ipath, b, &version, false); err != nil {
		return nil, err
	}
	var n int
	if version.Format == nil {
		return nil, i18n.Errorf("%s: format: missing: not a report.json lblab wrote", ipath)
	}
	if err := json.Unmarshal(*version.Format, &n); err != nil || n < 1 {
		return nil, i18n.Errorf("%s: format: %s is not a version of the format (1 to %d)", ipath, string(*version.Format), FormatVersion)
	}
	if n > FormatVersion {
		return nil, i18n.Errorf("%s: format %d: written by a newer lblab; this one reads format %d at most: draw the report with the lblab that ran the lab", ipath, n, FormatVersion)
	}
	var file inputsFile
	if err := decodeJSON(ipath, b, &file, true); err != nil {
		return nil, err
	}
	if err := file.check(); err != nil {
		return nil, i18n.Errorf("%s: %w", ipath, err)
	}
	in := file.inputs()
	if f.Results.Lab != in.Lab {
		return nil, i18n.Errorf("%s: lab: %q, but results.json is of lab %q: the folder mixes two runs", ipath, in.Lab, f.Results.Lab)
	}
	f.Inputs = &in
	return f, nil
}

// readBounded reads a file of at most MaxFolderFile bytes.
func readBounded(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, MaxFolderFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFolderFile {
		return nil, i18n.Errorf("%s: larger than %d bytes: not a file lblab wrote", path, MaxFolderFile)
	}
	return b, nil
}

// decodeJSON decodes the one JSON value of data (read from path) into v,
// refusing fields v does not have when strict. Its errors name
// path:line:column and the field.
func decodeJSON(path string, data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		end := dec.InputOffset()
		if _, extra := dec.Token(); extra != io.EOF {
			end += int64(len(data[end:]) - len(bytes.TrimLeft(data[end:], " \t\r\n")))
			return i18n.Errorf("%s:%s: more than one JSON value", path, lineCol(data, end))
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return i18n.Errorf("%s:%s: %v", path, lineCol(data, syntax.Offset-1), err)
	case errors.As(err, &typ):
		return i18n.Errorf("%s:%s: %s: got %s, want %s", path, lineCol(data, typeErrorAt(data, typ)), typ.Field, typ.Value, wantOf(typ.Type))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return i18n.Errorf("%s: cut short: %v", path, err)
	}
	if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(q); uerr == nil {
			return i18n.Errorf("%s:%s: unknown field %q", path, lineCol(data, keyAt(data, name, -1, nil)), name)
		}
	}
	return i18n.Errorf("%s: %v", path, err)
}

// typeErrorAt returns the offset in data of the key of the field a type
// error is about: the last one before the error's offset or, when the
// error has none (one of seconds), the first whose value is not a number.
func typeErrorAt(data []byte, typ *json.UnmarshalTypeError) int64 {
	field := typ.Field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	if field == "" {
		return typ.Offset
	}
	if typ.Offset > 0 {
		return keyAt(data, field, typ.Offset, nil)
	}
	return keyAt(data, field, -1, func(value byte) bool { return value != '-' && (value < '0' || value > '9') })
}

// keyAt returns the offset of the key name in data (a quoted string
// followed by a colon): the last one before offset before when before is
// not negative, else the first one whose value's first byte satisfies
// value (any when nil); len(data) when there is none.
func keyAt(data []byte, name string, before int64, value func(byte) bool) int64 {
	quoted, _ := json.Marshal(name)
	found := int64(len(data))
	for off := 0; ; {
		i := bytes.Index(data[off:], quoted)
		if i < 0 {
			return found
		}
		at := off + i
		off = at + len(quoted)
		if before >= 0 && int64(at) >= before {
			return found
		}
		rest := bytes.TrimLeft(data[off:], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		switch {
		case before >= 0:
			found = int64(at)
		case value == nil || len(rest) > 0 && value(rest[0]):
			return int64(at)
		}
	}
}

// wantOf says what a JSON value of Go type t is.
func wantOf(t reflect.Type) i18n.Text {
	k := reflect.Invalid
	if t != nil {
		k = t.Kind()
	}
	switch {
	case k >= reflect.Uint && k <= reflect.Uintptr:
		return i18n.T("a whole number, 0 or more")
	case k >= reflect.Int && k <= reflect.Int64:
		return i18n.T("a whole number")
	case k == reflect.Float32 || k == reflect.Float64:
		return i18n.T("a number")
	}
	if w, ok := jsonKinds[k]; ok {
		return w
	}
	return i18n.T("another value")
}

// jsonKinds are the other kinds of JSON values, by the Go kind they
// decode into.
var jsonKinds = map[reflect.Kind]i18n.Text{
	reflect.String: i18n.T("a string"), reflect.Bool: i18n.T("true or false"),
	reflect.Slice: i18n.T("a list"), reflect.Array: i18n.T("a list"),
	reflect.Struct: i18n.T("an object"), reflect.Map: i18n.T("an object"),
}

// lineCol returns the 1-based line and column (in characters) of byte
// offset off of data as "LINE:COL".
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:]))) + 1
	return fmt.Sprintf("%d:%d", line, col)
}

// check refuses values out of their range, naming the field.
func (in *inputsFile) check() error {
	bad := func(field string, v any, want i18n.Text) error {
		return i18n.Errorf("%s: %v: want %s", field, v, want)
	}
	const day = seconds(maxRunDuration)
	if in.Lang != LangEnglish && in.Lang != LangChinese {
		return bad("lang", fmt.Sprintf("%q", in.Lang), i18n.T(`"en" or "zh"`))
	}
	if in.Duration < 0 || in.Duration > day {
		return bad("duration_s", in.Duration, i18n.T("0 to 86400 seconds"))
	}
	for i, t := range in.Theory {
		at := func(f string) string { return fmt.Sprintf("theory[%d].%s", i, f) }
		switch {
		case t.VRID < 1 || t.VRID > 255:
			return bad(at("vrid"), t.VRID, i18n.T("1 to 255"))
		case t.Version != 2 && t.Version != 3:
			return bad(at("version"), t.Version, i18n.T("2 or 3"))
		case t.BackupPriority < 0 || t.BackupPriority > 255:
			return bad(at("backup_priority"), t.BackupPriority, i18n.T("0 to 255"))
		case t.Interval <= 0 || t.Interval > day:
			return bad(at("interval_s"), t.Interval, i18n.T("more than 0 seconds, at most 86400"))
		case t.Skew < 0 || t.Skew > day:
			return bad(at("skew_s"), t.Skew, i18n.T("0 to 86400 seconds"))
		case t.MDI < 0 || t.MDI > day:
			return bad(at("mdi_s"), t.MDI, i18n.T("0 to 86400 seconds"))
		case t.Hi < 0 || t.Hi > day:
			return bad(at("hi_s"), t.Hi, i18n.T("0 to 86400 seconds"))
		case t.Lo < 0 || t.Lo > t.Hi:
			return bad(at("lo_s"), t.Lo, i18n.T("0 to hi_s (%s)", t.Hi))
		}
	}
	for i, m := range in.Marks {
		at := func(f string) string { return fmt.Sprintf("marks[%d].%s", i, f) }
		switch {
		case m.From < 0 || m.From > day:
			return bad(at("from_s"), m.From, i18n.T("0 to 86400 seconds"))
		case m.To < 0 || m.To > day:
			return bad(at("to_s"), m.To, i18n.T("0 to 86400 seconds"))
		case m.Key == "":
		case !markKeys[m.Key]:
			return bad(at("key"), fmt.Sprintf("%q", m.Key), i18n.T("a mark's sentence (markTheory, markHealthDown, markHealthUp) or none"))
		case len(m.Args) != len(i18n.Verbs(words[m.Key][0])):
			return bad(at("args"), len(m.Args), i18n.T("%d arguments for %s", len(i18n.Verbs(words[m.Key][0])), m.Key))
		}
	}
	for i, s := range in.Shares {
		if !(s.Expected >= 0 && s.Expected <= 1) {
			return bad(fmt.Sprintf("shares[%d].expected", i), s.Expected, i18n.T("0 to 1"))
		}
	}
	if in.Topology != nil {
		if err := in.Topology.check(); err != nil {
			return err
		}
	}
	if s := in.Sweep; s != nil {
		if err := sweepNumbers("sweep.", map[string][]float64{"values": s.Values, "reference": s.Reference, "lo": {s.Lo}, "hi": {s.Hi}}); err != nil {
			return err
		}
		switch {
		case s.Lo > s.Hi:
			return bad("sweep.lo", s.Lo, i18n.T("at most hi (%v)", s.Hi))
		case s.Hi > s.Lo && s.Hi-s.Lo < minWindow:
			return bad("sweep.hi", s.Hi, i18n.T("lo (%v) for no window, or at least lo + 1e-9", s.Lo))
		case !(s.KS >= 0 && s.KS <= 1):
			return bad("sweep.ks", s.KS, i18n.T("0 to 1"))
		case !(s.KSReference >= 0 && s.KSReference <= 1):
			return bad("sweep.ks_reference", s.KSReference, i18n.T("0 to 1"))
		}
	}
	for i, m := range in.SweepMetrics {
		at := fmt.Sprintf("sweep_metrics[%d].", i)
		if err := sweepNumbers(at, map[string][]float64{"values": m.Values, "lo": {m.Lo}, "hi": {m.Hi}, "reference": m.Reference}); err != nil {
			return err
		}
		if !(m.KSReference >= 0 && m.KSReference <= 1) {
			return bad(at+"ks_reference", m.KSReference, i18n.T("0 to 1"))
		}
		switch {
		case m.Name == "":
			return bad(at+"name", `""`, i18n.T("a metric's name"))
		case m.Lo > m.Hi:
			return bad(at+"lo", m.Lo, i18n.T("at most hi (%v)", m.Hi))
		case m.Hi > m.Lo && m.Hi-m.Lo < minWindow:
			return bad(at+"hi", m.Hi, i18n.T("lo (%v) for no window, or at least lo + 1e-9", m.Lo))
		case m.Undecided < 0:
			return bad(at+"undecided", m.Undecided, i18n.T("0 or more"))
		case m.KS != nil && !(*m.KS >= 0 && *m.KS <= 1):
			return bad(at+"ks", *m.KS, i18n.T("0 to 1"))
		}
	}
	return nil
}

// maxSweepValue bounds the magnitude of a sweep's values and windows in
// report.json: 10^12 (a p99 of 24 h is 8.64 × 10^7 ms), so that the
// plots' arithmetic stays finite.
const maxSweepValue = 1e12

// minWindow is the narrowest theory window of a sweep in report.json:
// 1e-9 in the metric's unit (the plots draw the uniform law's density,
// 1/(hi − lo)).
const minWindow = 1e-9

// sweepNumbers refuses a number of a sweep beyond ±maxSweepValue, naming
// the field (prefix, name and index).
func sweepNumbers(prefix string, fields map[string][]float64) error {
	for _, name := range []string{"values", "reference", "lo", "hi"} {
		for i, v := range fields[name] {
			if math.Abs(v) <= maxSweepValue {
				continue
			}
			field := prefix + name
			if name == "values" || name == "reference" {
				field = fmt.Sprintf("%s[%d]", field, i)
			}
			return i18n.Errorf("%s: %v: want -1e12 to 1e12", field, v)
		}
	}
	return nil
}

// markKeys are the sentences a Mark's Key may name.
var markKeys = map[string]bool{"markTheory": true, "markHealthDown": true, "markHealthUp": true}
