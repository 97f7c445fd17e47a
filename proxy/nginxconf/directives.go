package nginxconf

// module is the type of an nginx module: which blocks its directives are
// looked up in (ngx_module_t.type).
type module uint8

const (
	modCore   module = iota + 1 // NGX_CORE_MODULE: the main context
	modConf                     // NGX_CONF_MODULE: include, anywhere
	modEvent                    // NGX_EVENT_MODULE: events { }
	modHttp                     // NGX_HTTP_MODULE: http { } and its blocks
	modStream                   // NGX_STREAM_MODULE: stream { } and its blocks
	modMail                     // NGX_MAIL_MODULE: mail { } and its blocks
)

// directive is one ngx_command_t: its module's type and its type bits.
type directive struct {
	mod module
	typ uint64
}

// The ngx_command_t type bits ngx_conf_handler checks
// (src/core/ngx_conf_file.h).
const (
	confNoArgs    = 0x00000001
	confArgsMask  = 0x000000ff // NGX_CONF_TAKE1..7 are 0x02..0x80
	confBlock     = 0x00000100
	confFlag      = 0x00000200
	confAny       = 0x00000400
	conf1More     = 0x00000800
	conf2More     = 0x00001000
	confMaxArgs   = 8
	ctxMainConf   = 0x01000000 // NGX_MAIN_CONF
	ctxBlockMain  = 0x02000000 // NGX_EVENT_CONF, NGX_HTTP_MAIN_CONF, NGX_STREAM_MAIN_CONF, NGX_MAIL_MAIN_CONF
	ctxHTTPSrv    = 0x04000000 // NGX_HTTP_SRV_CONF (and stream's and mail's)
	ctxHTTPLoc    = 0x08000000 // NGX_HTTP_LOC_CONF (NGX_STREAM_UPS_CONF in stream)
	ctxHTTPUps    = 0x10000000 // NGX_HTTP_UPS_CONF
	ctxHTTPSif    = 0x20000000 // NGX_HTTP_SIF_CONF: if in server
	ctxHTTPLif    = 0x40000000 // NGX_HTTP_LIF_CONF: if in location
	ctxHTTPLmt    = 0x80000000 // NGX_HTTP_LMT_CONF: limit_except
	ctxStreamUps  = 0x08000000 // NGX_STREAM_UPS_CONF
	ctxStreamSrv  = 0x04000000 // NGX_STREAM_SRV_CONF
	ctxMailSrv    = 0x04000000 // NGX_MAIL_SRV_CONF
	ctxEventsConf = 0x02000000 // NGX_EVENT_CONF
)

// confCtx is where a directive stands: the module type nginx looks its
// name up in and the context bit it must carry (cf->module_type and
// cf->cmd_type).
type confCtx struct {
	mod module
	bit uint64
}

var ctxMain = confCtx{modCore, ctxMainConf}

// freeBlocks are the blocks whose contents nginx hands to the directive's
// own reader (cf->handler: types, map, geo, split_clients, charset_map)
// instead of looking them up as directives.
var freeBlocks = map[string]bool{"types": true, "map": true, "geo": true, "split_clients": true, "charset_map": true}

// inner returns the context of the block opened by directive name in
// ctx, and whether its contents are directives at all.
func inner(ctx confCtx, name string) (confCtx, bool) {
	if freeBlocks[name] {
		return confCtx{}, false
	}
	switch {
	case ctx.mod == modCore && name == "events":
		return confCtx{modEvent, ctxEventsConf}, true
	case ctx.mod == modCore && name == "http":
		return confCtx{modHttp, ctxBlockMain}, true
	case ctx.mod == modCore && name == "stream":
		return confCtx{modStream, ctxBlockMain}, true
	case ctx.mod == modCore && name == "mail":
		return confCtx{modMail, ctxBlockMain}, true
	case ctx.mod == modHttp && name == "server":
		if ctx.bit == ctxHTTPUps {
			return confCtx{}, false // the upstream's server is a simple directive
		}
		return confCtx{modHttp, ctxHTTPSrv}, true
	case ctx.mod == modHttp && name == "location":
		return confCtx{modHttp, ctxHTTPLoc}, true
	case ctx.mod == modHttp && name == "upstream":
		return confCtx{modHttp, ctxHTTPUps}, true
	case ctx.mod == modHttp && name == "if":
		if ctx.bit == ctxHTTPSrv {
			return confCtx{modHttp, ctxHTTPSif}, true
		}
		return confCtx{modHttp, ctxHTTPLif}, true
	case ctx.mod == modHttp && name == "limit_except":
		return confCtx{modHttp, ctxHTTPLmt}, true
	case ctx.mod == modStream && name == "server":
		return confCtx{modStream, ctxStreamSrv}, true
	case ctx.mod == modStream && name == "upstream":
		return confCtx{modStream, ctxStreamUps}, true
	case ctx.mod == modMail && name == "server":
		return confCtx{modMail, ctxMailSrv}, true
	}
	return confCtx{}, false
}

// The messages of nginx -t for a directive it refuses, each with the
// directive's name as its one argument (ngx_conf_handler's words).
const (
	msgUnknownDirective = "unknown directive %q (no module of nginx 1.22 defines it: nginx -t refuses it)"
	msgPlusDirective    = "unknown directive %q (an NGINX Plus directive: nginx 1.22 refuses it)"
	msgNotAllowedHere   = "%q directive is not allowed here"
	msgNotTerminated    = "directive %q is not terminated by \";\""
	msgNoOpening        = "directive %q has no opening \"{\""
	msgInvalidArgs      = "invalid number of arguments in %q directive"
)

// directiveProblem says what nginx -t says of directive n in ctx, as
// ngx_conf_handler does: "" when nginx takes it; otherwise the format of
// its emerg message (one of the msg* constants), to be given n's name.
func directiveProblem(n *node, ctx confCtx) string {
	ds, known := directives[n.name]
	if !known {
		if plusDirectives[n.name] {
			return msgPlusDirective
		}
		return msgUnknownDirective
	}
	for _, d := range ds {
		if d.mod != modConf && d.mod != ctx.mod {
			continue
		}
		if d.typ&ctx.bit == 0 {
			continue
		}
		if d.typ&confBlock == 0 && n.isBlock {
			return msgNotTerminated
		}
		if d.typ&confBlock != 0 && !n.isBlock {
			return msgNoOpening
		}
		if !argsFit(d.typ, len(n.args)+1) {
			return msgInvalidArgs
		}
		return ""
	}
	return msgNotAllowedHere
}

// argsFit reports whether nelts words (the name and its arguments) fit the
// type bits, as ngx_conf_handler checks them.
func argsFit(typ uint64, nelts int) bool {
	switch {
	case typ&confAny != 0:
		return true
	case typ&confFlag != 0:
		return nelts == 2
	case typ&conf1More != 0:
		return nelts >= 2
	case typ&conf2More != 0:
		return nelts >= 3
	case nelts > confMaxArgs:
		return false
	}
	return typ&(uint64(1)<<(nelts-1)) != 0
}

// checkDirectives checks every directive of nodes in ctx, and of the
// blocks they open, against nginx's table, reports each problem as an
// error, and returns nodes without the directives nginx refuses (so that
// the import does not report them a second time).
func (im *importer) checkDirectives(nodes []*node, ctx confCtx) []*node {
	kept := nodes[:0:0]
	for _, n := range nodes {
		if format := directiveProblem(n, ctx); format != "" {
			im.errorf(n.line, format, n.name)
			continue
		}
		if n.isBlock {
			if c, ok := inner(ctx, n.name); ok {
				n.block = im.checkDirectives(n.block, c)
			}
		}
		kept = append(kept, n)
	}
	return kept
}

// snippetCtx is the context of the top level of a text: the main
// context, or http's for a snippet meant to be included from http { }
// (a top-level upstream or server, and no http, events, stream or mail
// block), which Import reads as if it were inside http.
func snippetCtx(nodes []*node) confCtx {
	snippet := false
	for _, n := range nodes {
		switch n.name {
		case "http", "events", "stream", "mail":
			return ctxMain
		case "upstream", "server":
			snippet = true
		}
	}
	if snippet {
		return confCtx{modHttp, ctxBlockMain}
	}
	return ctxMain
}

// plusDirectives are directives of NGINX Plus, the commercial nginx, that
// users copy from its documentation; open source nginx does not know them.
var plusDirectives = map[string]bool{
	"sticky": true, "sticky_cookie_insert": true, "ntlm": true, "health_check": true, "least_time": true,
	"queue": true, "state": true, "zone_sync": true, "match": true, "api": true, "status_zone": true,
	"auth_jwt": true,
}
