package units

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// NonFinite walks a decoded configuration (a pointer to a struct whose
// fields carry yaml tags) and calls found with the field path (as errors
// print it: faults[2].factor) and the value of every float that is NaN or
// infinite. YAML writes them .nan and .inf; no field of a lab or a load
// balancer takes one.
func NonFinite(v any, found func(path string, f float64)) {
	nonFinite(reflect.ValueOf(v), "", found)
}

func nonFinite(v reflect.Value, path string, found func(string, float64)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			nonFinite(v.Elem(), path, found)
		}
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			found(path, f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			nonFinite(v.Index(i), path+"["+strconv.Itoa(i)+"]", found)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for it := v.MapRange(); it.Next(); {
			nonFinite(it.Value(), join(path, it.Key().String()), found)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			p := path
			switch {
			case name != "":
				p = join(path, name)
			case !strings.Contains(opts, "inline"):
				p = join(path, strings.ToLower(f.Name)) // the YAML library's default
			}
			nonFinite(v.Field(i), p, found)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// FloatText writes a float as YAML does: .nan, .inf, -.inf or a number.
func FloatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
