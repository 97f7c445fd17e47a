package scenarios

import "github.com/lblab/lblab/reports"

// Localized returns lab in language lang (reports.LangEnglish or
// reports.LangChinese): its title, teaching text and expectations' names
// are the lab file's title_zh, teaching_zh and name_zh for Chinese, each
// falling back to the English text when the file has none, and its report
// is written with that language's fixed words, its fault lines with the
// faults' name_zh (Results.FaultNamesZh). Everything else (groups,
// servers, numbers, field names) stays as written. lab is not changed.
func (lab *Lab) Localized(lang string) *Lab {
	out := *lab
	out.lang = lang
	if lang != reports.LangChinese {
		return &out
	}
	if lab.TitleZh != "" {
		out.Title = lab.TitleZh
	}
	if lab.TeachingZh != "" {
		out.Teaching = lab.TeachingZh
	}
	out.Expect = make([]Expectation, len(lab.Expect))
	for i, e := range lab.Expect {
		if e.NameZh != "" {
			e.Name = e.NameZh
		}
		out.Expect[i] = e
	}
	return &out
}

// faultNamesZh returns the name_zh of each fault that has one, by the
// fault's name; nil when none has.
func (lab *Lab) faultNamesZh() map[string]string {
	var out map[string]string
	for _, f := range lab.Faults {
		if f.NameZh == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[f.Name] = f.NameZh
	}
	return out
}
