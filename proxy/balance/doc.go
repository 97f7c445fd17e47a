// Package balance is the server selection of nginx's upstream module, exact
// to nginx 1.22 (the Debian 12 package, 1.22.1-9): for the same configuration
// and the same sequence of inputs it chooses the same server as nginx.
//
// The code mirrors these nginx functions (nginx-1.22.1/src/http/):
//
//   - ngx_http_upstream_round_robin.c: ngx_http_upstream_init_round_robin
//     (NewGroup), ngx_http_upstream_init_round_robin_peer (Group.Start,
//     Attempt.Reset), ngx_http_upstream_get_round_robin_peer and
//     ngx_http_upstream_get_peer (smooth weighted round robin, backup
//     fallback), ngx_http_upstream_free_round_robin_peer (Attempt.Done).
//   - modules/ngx_http_upstream_least_conn_module.c:
//     ngx_http_upstream_get_least_conn_peer.
//   - modules/ngx_http_upstream_ip_hash_module.c:
//     ngx_http_upstream_get_ip_hash_peer.
//   - modules/ngx_http_upstream_hash_module.c: ngx_http_upstream_get_hash_peer,
//     ngx_http_upstream_init_chash (the ketama ring),
//     ngx_http_upstream_find_chash_point, ngx_http_upstream_get_chash_peer.
//   - modules/ngx_http_upstream_random_module.c:
//     ngx_http_upstream_get_random_peer, ngx_http_upstream_get_random2_peer,
//     ngx_http_upstream_peek_random_peer.
//
// The cores are pure: time comes in as now (a time.Duration since the start
// of the run) and randomness as a *rand.Rand; nothing here reads a clock or
// touches a socket. nginx keeps failure accounting (accessed, checked,
// fail_timeout) in whole seconds of ngx_time(); this package truncates now to
// whole seconds for that accounting, so a peer that failed at second t with
// fail_timeout f is skipped up to and including second t+f and is usable
// again at second t+f+1.
//
// Two algorithms are not in nginx open source and are defined here:
// LeastTime (see its constant) and SourceHash, which is exactly nginx's
// `hash $remote_addr consistent`.
//
// Extensions beyond nginx, which rejects them in its configuration: a
// server with Weight 0 is never picked (as a cloud load balancer's weight 0,
// "no new traffic"), and a peer can be marked unhealthy by an active health
// checker (Peer.SetHealthy), in which case it is skipped exactly where nginx
// skips a `down` peer.
//
// A Group is not safe for concurrent use: nginx runs each worker's selection
// on one thread, and so should callers (wrap the Group in a mutex on real
// sockets).
package balance
