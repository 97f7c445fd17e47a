package i18n

// zhCompare holds the Chinese of lblab compare's messages.
var zhCompare = map[string]string{
	"%s and %s are the same folder: give two runs' folders":                                                "%s 和 %s 是同一个文件夹：请给出两次运行的文件夹",
	"%s is a run of lab %s, %s of lab %s: compare runs of one lab, or pass --force to compare them anyway": "%s 是实验 %s 的运行，%s 是实验 %s 的运行：请比较同一个实验的运行，或加 --force 仍然比较",
	"%s is a run of lab %s, %s of lab %s: compared anyway (--force)":                                       "%s 是实验 %s 的运行，%s 是实验 %s 的运行：仍然比较（--force）",
	"%s: no such folder: give the folder of a run (lblab run --out)":                                       "%s：没有这个文件夹：请给出某次运行的文件夹（lblab run --out）",
	"%s: not a folder: give the folder of a run (lblab run --out)":                                         "%s：不是文件夹：请给出某次运行的文件夹（lblab run --out）",
	"%s: not a run folder: it has no results.json (lblab run writes one)":                                  "%s：不是运行的文件夹：其中没有 results.json（lblab run 会写这个文件）",
	"--%s runs a lab: lblab compare DIR1 DIR2 compares two finished runs and takes no --%s":                "--%s 用于运行实验：lblab compare DIR1 DIR2 比较两次已完成的运行，不接受 --%s",
	"--modes %s: %w":                       "--modes %s：%w",
	"--modes: the world %s is given twice": "--modes：世界 %s 给了两次",
	"lblab compare %s needs --modes, e.g. --modes sim,netns (the worlds are %s)": "lblab compare %s 需要 --modes，例如 --modes sim,netns（现有的世界：%s）",
	"lblab compare takes a lab, or two run folders; got %d arguments":            "lblab compare 接受一个实验，或两个运行的文件夹；实际收到 %d 个参数",
}
