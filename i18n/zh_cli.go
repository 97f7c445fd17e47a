package i18n

// zhCLI are the command line's own words, by English format.
var zhCLI = map[string]string{
	"%s: no history.jsonl in this folder": "%s：此文件夹中没有 history.jsonl",
	"%s: ok (%s)":                         "%s：通过（%s）",
	"--lab needs --group NAME":            "--lab 需要 --group NAME",
	"--nginx needs --upstream NAME":       "--nginx 需要 --upstream NAME",
	"--out %s --clean: %s is not a file lblab run writes, so the folder is not only an earlier run's: --clean empties only those (nothing was removed)": "--out %s --clean：%s 不是 lblab run 写的文件，所以该文件夹不只是之前某次运行的：--clean 只清空那种文件夹（未删除任何文件）",
	"--out %s --clean: the folder has no results.json, so it is not an earlier run's folder: --clean empties only those":                                "--out %s --clean：该文件夹没有 results.json，不是之前某次运行的文件夹：--clean 只清空那种文件夹",
	"--out %s: not a folder: pass a new or empty folder": "--out %s：不是文件夹：请给出新的或空的文件夹",
	"--out %s: the folder is not empty (it holds %s and %d more): pass a new or empty folder, or --clean to empty the folder of an earlier run first": "--out %s：文件夹不为空（有 %s 等另外 %d 项）：请给出新的或空的文件夹，或用 --clean 先清空之前某次运行的文件夹",
	"give either --nginx FILE --upstream NAME or --lab LAB --group NAME":                                                                              "请给出 --nginx FILE --upstream NAME 或 --lab LAB --group NAME 之一",
	"give exactly one of --count N and --keys FILE":                                                                                                   "请恰好给出 --count N 和 --keys FILE 之一",
	"lab %s has no load balancer": "实验 %s 没有负载均衡器",
	"no group %q (there are: %s)": "没有组 %q（现有：%s）",
	"unknown command %q (did you mean %s?); 'lblab --help' lists the commands": "未知命令 %q（是不是 %s？）；'lblab --help' 列出所有命令",
	"unknown command %q; 'lblab --help' lists the commands":                    "未知命令 %q；'lblab --help' 列出所有命令",
	"warning: %s":                                "警告：%s",
	"accepts %d arg(s), received %d":             "接受 %d 个参数，实际收到 %d 个",
	"bad flag syntax: %s":                        "选项写法错误：%s",
	"flag needs an argument: %q in -%s":          "选项需要一个值：-%[2]s 中的 %[1]q",
	"flag needs an argument: --%s":               "选项需要一个值：--%s",
	"invalid argument %q for %q flag: %w":        "选项 %[2]q 的值 %[1]q 无效：%[3]w",
	"unknown flag: --%s":                         "未知选项：--%s",
	"unknown shorthand flag: %q in -%s":          "未知短选项：-%[2]s 中的 %[1]q",
	"strconv.%s: parsing %q: invalid syntax":     "strconv.%s：解析 %q：写法无效",
	"strconv.%s: parsing %q: value out of range": "strconv.%s：解析 %q：超出范围",
}
