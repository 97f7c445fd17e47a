package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
)

// JUnit XML, in the form CI systems read (Jenkins, GitLab, GitHub
// actions): <testsuites> of <testsuite> of <testcase>.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes JUnit XML to path: one <testsuite> per Results (named
// after the lab, plus " (seeds N)" for a sweep), one <testcase> per
// expectation (classname = lab), with a <failure> giving observed against
// expected for each expectation that did not hold.
func WriteJUnit(path string, runs []Results) error {
	doc := junitSuites{Name: "lblab"}
	for _, r := range runs {
		s := junitSuite{Name: r.Lab}
		if r.Seeds > 0 {
			s.Name += fmt.Sprintf(" (seeds %d)", r.Seeds)
		}
		if r.Mode != "" {
			s.Properties = append(s.Properties, junitProperty{"mode", r.Mode})
		}
		s.Properties = append(s.Properties, junitProperty{"seed", strconv.FormatUint(r.Seed, 10)})
		if r.Seeds > 0 {
			s.Properties = append(s.Properties, junitProperty{"seeds", strconv.Itoa(r.Seeds)})
		}
		for _, e := range r.Expectations {
			c := junitCase{Name: e.Name, Classname: r.Lab}
			if !e.Passed {
				msg := fmt.Sprintf("observed %s, expected %s", e.Observed, e.Expected)
				c.Failure = &junitFailure{
					Message: msg,
					Type:    "expectation",
					Text:    fmt.Sprintf("%s\nobserved: %s\nexpected: %s\n", e.Name, e.Observed, e.Expected),
				}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	b.WriteByte('\n')
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}
