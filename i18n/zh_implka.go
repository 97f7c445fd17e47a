package i18n

// zhImplka are the messages of keepalived as the VRRP routers of the
// netns world (impl: {vrrp: keepalived}), keepalived.conf export and
// lblab run --impl.
var zhImplka = map[string]string{
	"--impl %s: want ROLE=NAME, comma-separated, ROLE vrrp or proxy (e.g. vrrp=keepalived,proxy=nginx), got %q": "--impl %s：应为以逗号分隔的 ROLE=NAME，ROLE 为 vrrp 或 proxy（例如 vrrp=keepalived,proxy=nginx），实际为 %q",
	"--impl %s: role %s named twice": "--impl %s：角色 %s 出现了两次",
	"impl.vrrp keepalived: the netns world runs keepalived for VRRP labs without a load balancer only": "impl.vrrp keepalived：netns 环境只为没有负载均衡器的 VRRP 实验运行 keepalived",
	"impl.vrrp keepalived: %w (Debian: apt-get install keepalived)":                                    "impl.vrrp keepalived：%w（Debian：apt-get install keepalived）",
	"host %s: keepalived.conf: %w":           "主机 %s：keepalived.conf：%w",
	"vrrp.keepalived.%s: %w":                 "vrrp.keepalived.%s：%w",
	"vrrp.vrrp_instance[%d].%s: %w":          "vrrp.vrrp_instance[%d].%s：%w",
	"no vrrp_script %s":                      "没有 vrrp_script %s",
	"host %s: making keepalived's FIFO: %w":  "主机 %s：创建 keepalived 的 FIFO：%w",
	"host %s: opening keepalived's FIFO: %w": "主机 %s：打开 keepalived 的 FIFO：%w",
	"host %s: starting keepalived: %w":       "主机 %s：启动 keepalived：%w",
	"keepalived on %s exited with status %d before it started its instances:\n%s":         "%s 上的 keepalived 在启动其实例之前以状态 %d 退出：\n%s",
	"keepalived on %s said no state after %v:\n%s":                                        "%s 上的 keepalived 在 %v 后仍未报告任何状态：\n%s",
	"keepalived on %s exited with status %d:\n%s":                                         "%s 上的 keepalived 以状态 %d 退出：\n%s",
	"keepalived -t %s: %w\n%s":                                                            "keepalived -t %s：%w\n%s",
	"host %s: removing the virtual address %s its agent left: %w":                         "主机 %s：删除其代理遗留的虚拟地址 %s：%w",
	"script_user: want USER [GROUP]":                                                      "script_user：应为 USER [GROUP]",
	"%s: an empty value cannot be written to keepalived.conf":                             "%s：空值无法写入 keepalived.conf",
	"%s: %q cannot be written to keepalived.conf (a double quote or a line break)":        "%s：%q 无法写入 keepalived.conf（含双引号或换行）",
	"%s: %q cannot be written to keepalived.conf (empty, a double quote or a line break)": "%s：%q 无法写入 keepalived.conf（为空，或含双引号或换行）",
}
