package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/scenarios/labfile"
	"github.com/lblab/lblab/vrrpsim"
	"github.com/lblab/lblab/vrrpsim/keepalived"
	vrrplinux "github.com/lblab/lblab/vrrpsim/linux"
)

// confKind is what a file given to validate holds.
type confKind int

const (
	kindLab confKind = iota
	kindKeepalived
	kindNginx
)

// keepalivedTop are the top-level keywords of keepalived.conf.
var keepalivedTop = map[string]bool{
	"global_defs": true, "vrrp_instance": true, "vrrp_script": true, "vrrp_sync_group": true,
	"virtual_server": true, "virtual_server_group": true, "static_ipaddress": true, "static_routes": true,
	"static_rules": true, "track_file": true, "vrrp_track_file": true, "garp_group": true,
	"linkbeat_interfaces": true, "net_namespace": true, "include": true, "bfd_instance": true,
	"track_process": true, "vrrp_track_process": true,
}

// nginxTop are directives that open an nginx configuration (main context).
var nginxTop = map[string]bool{
	"http": true, "events": true, "stream": true, "upstream": true, "server": true, "user": true,
	"worker_processes": true, "pid": true, "error_log": true, "load_module": true, "daemon": true,
	"worker_rlimit_nofile": true, "master_process": true, "env": true, "include": true, "mail": true,
}

// sniffConf tells a keepalived.conf and an nginx configuration from a lab
// file by the first line that is not blank or a comment: a keepalived
// top-level keyword (global_defs, vrrp_instance, ...), an nginx directive
// (http, upstream, events, ... or a line ending in ';' or '{'), or
// anything else, a lab. A YAML key ("name:") is always a lab.
func sniffConf(src []byte) confKind {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if labfile.StartsYAMLMapping(line) || strings.HasPrefix(line, "- ") {
			return kindLab
		}
		if line[0] == '$' || line[0] == '@' {
			return kindKeepalived // a $NAME=value definition, an @host conditional line
		}
		word := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '{' || r == ';' })
		first := ""
		if len(word) > 0 {
			first = word[0]
		}
		endsNginx := strings.HasSuffix(line, ";")
		switch {
		case first == "include":
			if endsNginx {
				return kindNginx
			}
			return kindKeepalived
		case keepalivedTop[first]:
			return kindKeepalived
		case nginxTop[first] || endsNginx:
			return kindNginx
		}
		return kindLab
	}
	return kindLab
}

// maxConfBytes bounds a configuration validate reads (keepalived.conf
// and nginx.conf files are a few kilobytes).
const maxConfBytes = 16 << 20

// validateConfFile checks path when it is a keepalived.conf or an nginx
// configuration, the way `keepalived -t` and `nginx -t` do, printing
// warnings to stderr and "PATH: ok (...)" to stdout. It returns handled
// false when path is not such a file (a lab, a catalog name), for the lab
// validation to take it.
func validateConfFile(c *cobra.Command, path string, sets []string) (handled bool, err error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	if st.Size() > maxConfBytes {
		return false, nil // the lab loader reports a file too large
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return true, usageError{err}
	}
	kind := sniffConf(src)
	if kind == kindLab {
		return false, nil
	}
	if len(sets) > 0 {
		return true, usageError{fmt.Errorf("%s: --set applies to lab files, not to a keepalived or nginx configuration", path)}
	}
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	lang, err := langOf(c)
	if err != nil {
		return true, err
	}
	if kind == kindKeepalived {
		return true, validateKeepalived(path, src, stdout, stderr, lang)
	}
	return true, validateNginx(path, src, stdout, stderr, lang)
}

// validateKeepalived checks a keepalived.conf as `keepalived -t` does on
// this host: its syntax, keywords and values (with the files it
// includes, relative to its folder), each instance as the agent would
// run it, that the interfaces exist, and that every vrrp_script's program
// is there. keepalived -t fails (exit 5) on what keepalived reports as a
// configuration error though it runs with it: an unknown keyword, an
// auth_pass it truncates, a script it disables; so does validate, saying
// what keepalived does with it. A notify script it cannot run, or a
// missing include, is a warning (keepalived -t passes). Warnings are
// written to stderr in lang.
func validateKeepalived(path string, src []byte, stdout, stderr io.Writer, lang string) error {
	kc, warns, err := keepalived.ParseWith(path, src, keepalived.Options{Dir: filepath.Dir(path)})
	var errs keepalived.Errors
	for _, w := range warns {
		if w.TestFails {
			errs = append(errs, &keepalived.Error{File: w.File, Line: w.Line, Msg: w.Msg, Text: w.Text})
			continue
		}
		printWarning(stderr, w, lang)
	}
	if err != nil {
		var kes keepalived.Errors
		if errors.As(err, &kes) {
			return sortedKeepalivedErrors(append(errs, kes...))
		}
		return err
	}
	for _, in := range kc.Instances {
		// The interface's address is read at start; any IPv4 address
		// stands in for it here.
		vc := kc.VRRPConfig(in, netip.MustParseAddr("192.0.2.1"))
		if _, err := vrrpsim.New(vc); err != nil {
			errs = append(errs, kc.ErrorAt(path, in.Line, i18n.T("%s", err)))
		}
	}
	scripts := make([]*keepalived.Script, 0, len(kc.Scripts))
	for _, s := range kc.Scripts {
		scripts = append(scripts, s)
	}
	sort.Slice(scripts, func(i, j int) bool { return scripts[i].Line < scripts[j].Line })
	for _, s := range scripts {
		why, notFound := vrrplinux.ScriptDisabled(s.Command)
		switch {
		case why.IsZero():
		case notFound:
			errs = append(errs, kc.ErrorAt(path, s.CommandLine, i18n.T(msgScriptNotFound, s.Name, why)))
		default:
			printWarning(stderr, kc.WarningAt(path, s.CommandLine, i18n.T(msgScriptNotRun, s.Name, why)), lang)
		}
	}
	for _, in := range kc.Instances {
		for _, key := range slices.Sorted(maps.Keys(in.Notify)) {
			if why, _ := vrrplinux.ScriptDisabled(in.Notify[key]); !why.IsZero() {
				printWarning(stderr, kc.WarningAt(path, in.NotifyLines[key], i18n.T(msgNotifyNotRun, in.Name, key, why)), lang)
			}
		}
	}
	links, err := vrrplinux.HostLinks()
	if err != nil {
		return err
	}
	errs = append(errs, vrrplinux.CheckLinks(path, kc, "", links)...)
	if len(errs) > 0 {
		return sortedKeepalivedErrors(errs)
	}
	fmt.Fprintf(stdout, "%s: ok (keepalived.conf: %d vrrp_instance, %d vrrp_script)\n", path, len(kc.Instances), len(kc.Scripts))
	return nil
}

// What validate says of the scripts of a keepalived.conf.
const (
	// msgScriptNotFound: the name, and why it cannot run.
	// A lab never runs the script (its result is the lab's script_fail
	// and script_ok faults, in netns too), so the message says the agent
	// only.
	msgScriptNotFound = "vrrp_script %s: %s on this host: keepalived disables the script and the instances tracking it keep their priority (no weight, no FAULT), as lblab vrrp does; keepalived -t fails on it"
	// msgScriptNotRun: the name, and why it cannot run.
	msgScriptNotRun = "vrrp_script %s: %s (keepalived disables the script)"
	// msgNotifyNotRun: the instance, the keyword, and why it cannot run.
	msgNotifyNotRun = "vrrp_instance %s %s: %s (keepalived does not run it)"
)

func sortedKeepalivedErrors(errs keepalived.Errors) keepalived.Errors {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Line < errs[j].Line
	})
	return errs
}

// validateNginx checks an nginx configuration as nginx -t does and as
// lblab imports it: nginx's grammar, every directive against nginx's own
// (name, block, argument count), the files it includes (relative to its
// folder, as nginx -c reads them), the upstream, server and proxy_*
// directives, with lines, then the load balancer it describes. Warnings
// are written to stderr in lang.
func validateNginx(path string, src []byte, stdout, stderr io.Writer, lang string) error {
	cfg, warns, err := nginxconf.ImportWith(path, src, nginxconf.Options{Dir: filepath.Dir(path)})
	for _, w := range warns {
		printWarning(stderr, w, lang)
	}
	if err != nil {
		return err
	}
	if _, err := validated(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (nginx configuration: %d upstream groups, %d listeners)\n", path, len(cfg.Groups), len(cfg.Listeners))
	return nil
}

// printLabWarnings prints the warnings of a lab's embedded configurations,
// one a line, each with its place in the lab and in the embedded text.
func printLabWarnings(w io.Writer, lab *labfile.Lab, lang string) {
	for _, lw := range lab.Warnings() {
		printWarning(w, lw, lang)
	}
}

// printWarning prints one warning in lang, after "warning:".
func printWarning(w io.Writer, warning i18n.Localizer, lang string) {
	fmt.Fprintln(w, i18n.T("warning: %s", warning).In(lang))
}
