package labfile

import "github.com/lblab/lblab/proxy/nginxconf"

// validateNginxImpl refuses, at its field, each part of the lab's load
// balancer that nginx (open source, as Debian ships it) cannot run with
// the lab's meaning (nginxconf.Refusals): a lab with impl: {proxy: nginx}
// must mean the same thing as with lblab's proxy. A load balancer
// imported from the nginx field is nginx's own and is placed there.
func validateNginxImpl(v *validator, lab *Lab) {
	if lab.LB == nil {
		return
	}
	for _, r := range nginxconf.Refusals(lab.LB) {
		field := "lb." + r.Field
		if lab.imported {
			field = "nginx"
		}
		v.bad(field, "nginx cannot run this as the lab means it (impl.proxy: nginx): %s", r.Text)
	}
}
