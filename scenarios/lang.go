package scenarios

import "github.com/lblab/lblab/reports"

// Localized returns lab in language lang (reports.LangEnglish or
// reports.LangChinese): its title and teaching text are the lab file's
// title_zh and teaching_zh for Chinese, each falling back to the English
// text when the file has none, and its report and summary are written
// with that language's fixed words, its expectations' name_zh
// (Expectation.NameIn) and its fault lines with the faults' name_zh
// (Results.FaultNamesZh). The results keep the names as written, with
// their name_zh beside them, so a run's folder can be redrawn in either
// language (lblab report --lang). Everything else (groups, servers,
// numbers, field names) stays as written. lab is not changed.
func (lab *Lab) Localized(lang string) *Lab {
	out := *lab
	out.lang = lang
	if lang != reports.LangChinese {
		return &out
	}
	if out.en == nil {
		out.en = lab
	}
	if lab.TitleZh != "" {
		out.Title = lab.TitleZh
	}
	if lab.TeachingZh != "" {
		out.Teaching = lab.TeachingZh
	}
	return &out
}

// english returns the lab as written, before Localized.
func (lab *Lab) english() *Lab {
	if lab.en != nil {
		return lab.en
	}
	return lab
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
