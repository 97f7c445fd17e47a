package labfile

import "github.com/lblab/lblab/i18n"

// Localized returns lab in language lang (i18n.English or
// i18n.Chinese): its title and teaching text are the lab file's
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
	if lang != i18n.Chinese {
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

// Lang returns the language the lab was localized to (see Localized):
// "" or i18n.English for English, i18n.Chinese for Chinese.
func (lab *Lab) Lang() string { return lab.lang }

// English returns the lab as written, before Localized.
func (lab *Lab) English() *Lab {
	if lab.en != nil {
		return lab.en
	}
	return lab
}

// FaultNamesZh returns the name_zh of each fault that has one, by the
// fault's name; nil when none has.
func (lab *Lab) FaultNamesZh() map[string]string {
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
