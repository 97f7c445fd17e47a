package labfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/loadgen/workload"
)

// LoadClients reads the clients at path for lblab load --spec: a file
// whose clients: section is a list as a lab's is (a whole lab file, or
// just that section), read within a lab file's limits and checked as a
// lab checks its clients, every error naming the file, line, column and
// field (clients[0].rate). pick chooses an element by name or by index
// (0, 1, …); "" takes the only one. An element without a name gets the
// one the simulator gives it, clients<index> (its random stream is named
// after it: loadgen.Draws).
func LoadClients(path, pick string) (*workload.Clients, error) {
	c, err := loadSpec(path, "clients", pick, func(i int, c workload.Clients) string {
		if c.Name != "" {
			return c.Name
		}
		return fmt.Sprintf("clients%d", i)
	}, func(v *validator, p string, c workload.Clients) {
		checkClients(v, p, c)
		clientsZeros(v, p, c)
	})
	if err == nil && c.Name == "" {
		switch _, numErr := strconv.Atoi(pick); {
		case pick == "":
			c.Name = "clients0" // the only one
		case numErr == nil:
			c.Name = "clients" + pick
		default:
			c.Name = pick // it matched the default name
		}
	}
	return c, err
}

// LoadBackend reads the backend at path for lblab backend --spec: a file
// whose backends: section is a list as a lab's is, read and checked as
// LoadClients reads clients. pick chooses an element by address or index;
// "" takes the only one.
func LoadBackend(path, pick string) (*workload.Backend, error) {
	return loadSpec(path, "backends", pick, func(_ int, b workload.Backend) string { return b.Address },
		func(v *validator, p string, b workload.Backend) {
			if b.Address == "" {
				v.bad(p+".address", "want host:port as the lb's servers write it")
			}
			checkBackend(v, p, b)
		})
}

// loadSpec decodes the list under key of the file at path strictly,
// checks each element, and returns the one pick names.
func loadSpec[T any](path, key, pick string, name func(int, T) string, check func(*validator, string, T)) (*T, error) {
	src, err := ReadFile(path)
	if err != nil {
		if _, ok := err.(Errors); ok {
			return nil, err
		}
		return nil, &InputError{err}
	}
	file, err := parseYAML(path, src)
	if e, ok := err.(*Error); ok {
		return nil, Errors{e}
	} else if err != nil {
		return nil, Errors{lookalikeLine(yamlError(path, nil, err), src)}
	}
	var node ast.Node
	if len(file.Docs) == 1 {
		if top, ok := file.Docs[0].Body.(*ast.MappingNode); ok {
			for _, kv := range top.Values {
				if kv.Key.GetToken().Value == key {
					node = kv.Value
				}
			}
		}
	}
	if node == nil {
		return nil, Errors{errorAt(path, 0, 0, key, i18n.T("want a mapping with a %s: list, as a lab file has", key))}
	}
	var list []T
	if err := decodeNode(node, &list); err != nil {
		return nil, Errors{decodeError(path, file, err)}
	}
	v := &validator{written: writtenPaths(node, key)}
	v.finite(key, &list)
	for i, el := range list {
		check(v, fmt.Sprintf("%s[%d]", key, i), el)
	}
	if len(v.problems) > 0 {
		return nil, placed(path, &places{file: file}, v.problems, nil)
	}
	var names []string
	for i, el := range list {
		names = append(names, name(i, el))
		if pick == names[i] || pick == strconv.Itoa(i) || pick == "" && len(list) == 1 {
			return &list[i], nil
		}
	}
	at := node.GetToken().Position
	if pick == "" {
		return nil, Errors{errorAt(path, at.Line, at.Column, key, i18n.T("%d elements (%s): say which one", len(list), strings.Join(names, ", ")))}
	}
	return nil, Errors{errorAt(path, at.Line, at.Column, key, i18n.T("no element %s (there are %s)", strconv.Quote(pick), strings.Join(names, ", ")))}
}
