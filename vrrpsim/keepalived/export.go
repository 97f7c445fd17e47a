package keepalived

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
)

// notifyKeywords are the instance's notify keywords, in the order Export
// writes them.
var notifyKeywords = []string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}

// Export writes c as keepalived.conf text that keepalived 2.2.7 reads
// (keepalived -t accepts it) and that Parse reads back into the same
// configuration: every field of Config, Script and Instance is written,
// defaults included, so that a reader sees the values in effect. Line
// fields are not: the text has its own lines. Scripts are written by
// name, instances in their order. A value that keepalived.conf cannot
// hold (a double quote or a line break in a word, an empty word) is an
// error naming the keyword.
func (c *Config) Export() ([]byte, error) {
	e := &exporter{}
	e.line(0, "global_defs {")
	if c.RouterID != "" {
		e.line(1, "router_id", e.word("router_id", c.RouterID))
	}
	e.line(1, "vrrp_version", strconv.Itoa(c.Version))
	e.line(1, "vrrp_garp_master_delay", seconds(c.GARPMasterDelay))
	e.line(1, "vrrp_garp_master_repeat", strconv.Itoa(c.GARPMasterRepeat))
	if c.CheckUnicastSrc {
		e.line(1, "vrrp_check_unicast_src")
	}
	if c.ScriptUser != "" {
		e.line(1, append([]string{"script_user"}, e.words("script_user", c.ScriptUser)...)...)
	}
	if c.ScriptSecurity {
		e.line(1, "enable_script_security")
	}
	if c.NotifyFIFO != "" {
		e.line(1, "vrrp_notify_fifo", e.word("vrrp_notify_fifo", c.NotifyFIFO))
	}
	if c.NotifyPriorityChanges {
		e.line(1, "vrrp_notify_priority_changes")
	}
	e.line(0, "}")
	for _, name := range slices.Sorted(maps.Keys(c.Scripts)) {
		s := c.Scripts[name]
		e.line(0, "vrrp_script", e.word("vrrp_script", name), "{")
		e.line(1, "script", e.quoted("script", s.Command))
		e.line(1, "interval", seconds(s.Interval))
		e.line(1, "timeout", seconds(s.Timeout))
		e.line(1, "weight", strconv.Itoa(s.Weight))
		e.line(1, "fall", strconv.Itoa(s.Fall))
		e.line(1, "rise", strconv.Itoa(s.Rise))
		if s.InitFail {
			e.line(1, "init_fail")
		}
		e.line(0, "}")
	}
	for _, in := range c.Instances {
		e.instance(in)
	}
	if e.err != nil {
		return nil, e.err
	}
	return []byte(e.b.String()), nil
}

func (e *exporter) instance(in *Instance) {
	e.line(0, "vrrp_instance", e.word("vrrp_instance", in.Name), "{")
	if in.State != "" {
		e.line(1, "state", e.word("state", in.State))
	}
	e.line(1, "interface", e.word("interface", in.Interface))
	e.line(1, "virtual_router_id", strconv.Itoa(in.VRID))
	if in.Priority != 0 {
		e.line(1, "priority", strconv.Itoa(in.Priority))
	}
	e.line(1, "advert_int", seconds(in.AdvertInt))
	if in.Version != 0 {
		e.line(1, "version", strconv.Itoa(in.Version))
	}
	if in.NoPreempt {
		e.line(1, "nopreempt")
	}
	if in.PreemptDelay > 0 {
		e.line(1, "preempt_delay", seconds(in.PreemptDelay))
	}
	if in.AuthType != "" {
		e.line(1, "authentication {")
		e.line(2, "auth_type", e.word("auth_type", in.AuthType))
		if in.AuthPass != "" {
			e.line(2, "auth_pass", e.word("auth_pass", in.AuthPass))
		}
		e.line(1, "}")
	}
	e.line(1, "virtual_ipaddress {")
	for _, v := range in.VIPs {
		e.line(2, v.String())
	}
	e.line(1, "}")
	if len(in.TrackScripts) > 0 {
		e.line(1, "track_script {")
		for _, t := range in.TrackScripts {
			if t.Weight != nil {
				e.line(2, e.word("track_script", t.Name), "weight", strconv.Itoa(*t.Weight))
			} else {
				e.line(2, e.word("track_script", t.Name))
			}
		}
		e.line(1, "}")
	}
	if len(in.TrackInterfaces) > 0 {
		e.line(1, "track_interface {")
		for _, t := range in.TrackInterfaces {
			if t.Weight != 0 {
				e.line(2, e.word("track_interface", t.Name), "weight", strconv.Itoa(t.Weight))
			} else {
				e.line(2, e.word("track_interface", t.Name))
			}
		}
		e.line(1, "}")
	}
	if in.DontTrackPrimary {
		e.line(1, "dont_track_primary")
	}
	if in.UnicastSrc.IsValid() {
		e.line(1, "unicast_src_ip", in.UnicastSrc.String())
	}
	if len(in.UnicastPeers) > 0 {
		e.line(1, "unicast_peer {")
		for _, a := range in.UnicastPeers {
			e.line(2, a.String())
		}
		e.line(1, "}")
	}
	if in.CheckUnicastSrc {
		e.line(1, "check_unicast_src")
	}
	for _, k := range notifyKeywords {
		if cmd, ok := in.Notify[k]; ok {
			e.line(1, k, e.quoted(k, cmd))
		}
	}
	e.line(0, "}")
}

// exporter writes keepalived.conf lines and keeps the first error.
type exporter struct {
	b   strings.Builder
	err error
}

// line writes words at the indent level.
func (e *exporter) line(level int, words ...string) {
	e.b.WriteString(strings.Repeat("    ", level))
	e.b.WriteString(strings.Join(words, " "))
	e.b.WriteByte('\n')
}

// word returns s as one word of keyword kw's line: as it is, or quoted
// when it holds a space, a brace or a comment sign.
func (e *exporter) word(kw, s string) string {
	if s == "" {
		e.fail(i18n.Errorf("%s: an empty value cannot be written to keepalived.conf", kw))
		return `""`
	}
	if strings.ContainsAny(s, " \t{}#!") {
		return e.quoted(kw, s)
	}
	if strings.ContainsAny(s, "\"\r\n") {
		e.fail(i18n.Errorf("%s: %q cannot be written to keepalived.conf (a double quote or a line break)", kw, s))
	}
	return s
}

// words returns the words of s (split at spaces), each as word does.
func (e *exporter) words(kw, s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		out = append(out, e.word(kw, w))
	}
	if len(out) == 0 {
		out = append(out, e.word(kw, ""))
	}
	return out
}

// quoted returns s in double quotes: keepalived reads it as one word
// (a command with its arguments).
func (e *exporter) quoted(kw, s string) string {
	if s == "" || strings.ContainsAny(s, "\"\r\n") {
		e.fail(i18n.Errorf("%s: %q cannot be written to keepalived.conf (empty, a double quote or a line break)", kw, s))
	}
	return `"` + s + `"`
}

func (e *exporter) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// seconds writes d in seconds as keepalived reads times: the shortest
// decimal that reads back to the same microsecond.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Unlined returns a copy of c without its places (Line fields and the
// files read): what Export writes and Parse reads back. RoundTrip
// compares configurations so.
func Unlined(c *Config) *Config {
	out := *c
	out.files = nil
	out.Scripts = map[string]*Script{}
	for n, s := range c.Scripts {
		s2 := *s
		s2.Line, s2.CommandLine = 0, 0
		out.Scripts[n] = &s2
	}
	out.Instances = nil
	for _, in := range c.Instances {
		in2 := *in
		in2.Line, in2.InterfaceLine, in2.NotifyLines = 0, 0, nil
		in2.TrackScripts = append([]TrackScript(nil), in.TrackScripts...)
		for i := range in2.TrackScripts {
			in2.TrackScripts[i].Line = 0
		}
		in2.TrackInterfaces = append([]TrackInterface(nil), in.TrackInterfaces...)
		for i := range in2.TrackInterfaces {
			in2.TrackInterfaces[i].Line = 0
		}
		out.Instances = append(out.Instances, &in2)
	}
	return &out
}

// RoundTrip exports c, parses the text and reports how the result
// differs from c ("" when it is the same model), with the text.
func RoundTrip(c *Config) (text, diff string, err error) {
	b, err := c.Export()
	if err != nil {
		return "", "", err
	}
	back, _, err := Parse("export", b)
	if err != nil {
		return string(b), "", err
	}
	want, got := Unlined(c), Unlined(back)
	if reflect.DeepEqual(want, got) {
		return string(b), "", nil
	}
	var d []string
	if !reflect.DeepEqual(want.Scripts, got.Scripts) {
		for n := range want.Scripts {
			d = append(d, "script "+n+": "+sprint(want.Scripts[n])+" became "+sprint(got.Scripts[n]))
		}
	}
	for i := range want.Instances {
		if i >= len(got.Instances) || !reflect.DeepEqual(want.Instances[i], got.Instances[i]) {
			g := any(nil)
			if i < len(got.Instances) {
				g = got.Instances[i]
			}
			d = append(d, "instance "+want.Instances[i].Name+": "+sprint(want.Instances[i])+" became "+sprint(g))
		}
	}
	want.Scripts, got.Scripts, want.Instances, got.Instances = nil, nil, nil, nil
	if !reflect.DeepEqual(want, got) {
		d = append(d, "global: "+sprint(want)+" became "+sprint(got))
	}
	return string(b), strings.Join(d, "\n"), nil
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }
