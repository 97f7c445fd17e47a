package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios"
	"github.com/lblab/lblab/sim/cloud"
)

// verified is lblab trace --verify's result: the model's trace, the real
// probe, and whether they agree.
type verified struct {
	Trace cloud.Result `json:"trace"`
	// ModelDrop is where the model dropped the probe (nil: nowhere).
	ModelDrop *scenarios.Place `json:"model_drop,omitempty"`
	Real      scenarios.Real   `json:"real"`
	Agree     bool             `json:"agree"`
}

// verifyTrace builds m in netns (root), sends res's probe there, and
// compares; the testbed is removed before it returns, and on SIGINT or
// SIGTERM.
func verifyTrace(ctx context.Context, m *cloud.Model, res cloud.Result) (verified, error) {
	n, err := scenarios.StartCloud(m)
	if err != nil {
		return verified{}, err
	}
	real, err := n.Probe(ctx, res)
	err = errors.Join(err, n.Close())
	if err != nil {
		return verified{}, err
	}
	v := verified{Trace: res, Real: real, Agree: scenarios.Verdict(res, real)}
	if p, ok := scenarios.ModelPlace(res); ok {
		v.ModelDrop = &p
	}
	return v, nil
}

// writeVerified prints the two verdicts side by side and AGREE or
// DISAGREE; asJSON prints v as JSON instead.
func writeVerified(w io.Writer, v verified, lang string, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	say := func(t i18n.Text) string { return t.In(lang) }
	model := string(v.Trace.Outcome)
	if v.ModelDrop != nil {
		model += ", " + say(placeWords(*v.ModelDrop, lang))
	}
	real := v.Real.Outcome
	if v.Real.Dropped {
		real += ", " + say(placeWords(v.Real.Drop, lang))
	} else if v.Real.Outcome == scenarios.RealTimeout {
		real += ", " + say(i18n.T("no counter says where"))
	}
	fmt.Fprintln(w, say(i18n.T("model: %s", model)))
	fmt.Fprintln(w, say(i18n.T("real (netns): %s in %.1f ms", real, float64(v.Real.RTT.Microseconds())/1000)))
	for _, e := range v.Real.Evidence {
		fmt.Fprintln(w, "  "+e)
	}
	if v.Agree {
		fmt.Fprintln(w, say(i18n.T("AGREE")))
	} else {
		fmt.Fprintln(w, say(i18n.T("DISAGREE")))
	}
	return nil
}

// placeWords says a drop's place for a student.
func placeWords(p scenarios.Place, lang string) i18n.Text {
	where := hopWhere(cloud.Hop{Kind: p.Kind, At: p.At}).In(lang)
	if p.Reply {
		return i18n.T("reply dropped at %s (%s)", where, p.Why)
	}
	return i18n.T("request dropped at %s (%s)", where, p.Why)
}
