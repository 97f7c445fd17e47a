package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/scenarios"
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
		if scenarios.StartsYAMLMapping(line) || strings.HasPrefix(line, "- ") {
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
// this host: its syntax and values, each instance as the agent would run
// it, that the interfaces exist, and that every vrrp_script's program is
// there (keepalived -t fails on one it cannot find; one that is not
// executable, or a notify script it cannot run, is a warning).
func validateKeepalived(path string, src []byte, stdout, stderr io.Writer, lang string) error {
	kc, warns, err := keepalived.Parse(path, src)
	for _, w := range warns {
		printWarning(stderr, w, lang)
	}
	if err != nil {
		return err
	}
	var errs keepalived.Errors
	for _, in := range kc.Instances {
		// The interface's address is read at start; any IPv4 address
		// stands in for it here.
		vc := kc.VRRPConfig(in, netip.MustParseAddr("192.0.2.1"))
		if _, err := vrrpsim.New(vc); err != nil {
			errs = append(errs, &keepalived.Error{File: path, Line: in.Line, Msg: err.Error()})
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
		case why == "":
		case notFound:
			errs = append(errs, &keepalived.Error{File: path, Line: s.CommandLine,
				Msg: fmt.Sprintf("vrrp_script %s: %s on this host (keepalived disables the script; keepalived -t fails)", s.Name, why)})
		default:
			fmt.Fprintf(stderr, "warning: %s:%d: vrrp_script %s: %s (keepalived disables the script)\n", path, s.CommandLine, s.Name, why)
		}
	}
	for _, in := range kc.Instances {
		for _, key := range slices.Sorted(maps.Keys(in.Notify)) {
			if why, _ := vrrplinux.ScriptDisabled(in.Notify[key]); why != "" {
				fmt.Fprintf(stderr, "warning: %s:%d: vrrp_instance %s %s: %s (keepalived does not run it)\n", path, in.NotifyLines[key], in.Name, key, why)
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

func sortedKeepalivedErrors(errs keepalived.Errors) keepalived.Errors {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}

// validateNginx checks an nginx configuration as lblab imports it: nginx's
// grammar and the upstream, server and proxy_* directives, with lines,
// then the load balancer it describes.
func validateNginx(path string, src []byte, stdout, stderr io.Writer, lang string) error {
	cfg, warns, err := nginxconf.Import(path, src)
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
func printLabWarnings(w io.Writer, lab *scenarios.Lab, lang string) {
	for _, lw := range lab.Warnings() {
		printWarning(w, lw, lang)
	}
}

// printWarning prints one warning in lang, after "warning:".
func printWarning(w io.Writer, warning i18n.Localizer, lang string) {
	fmt.Fprintln(w, i18n.T("warning: %s", warning).In(lang))
}
