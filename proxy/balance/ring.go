package balance

import (
	"hash/crc32"
	"slices"
	"strings"
)

// nginx's ngx_crc32_update/ngx_crc32_final are the IEEE CRC-32 with the
// usual pre- and post-inversion; these work on the running (not inverted
// back) value so that strings need no conversion to []byte.
const crcInit uint32 = 0xffffffff

var crcTable = crc32.MakeTable(crc32.IEEE)

func crcString(crc uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		crc = crcTable[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return crc
}

func crcBytes(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crcTable[byte(crc)^c] ^ (crc >> 8)
	}
	return crc
}

func crcFinal(crc uint32) uint32 { return crc ^ 0xffffffff }

// chashPoint is ngx_http_upstream_chash_point_t, with the server name
// replaced by its distinct-name id.
type chashPoint struct {
	hash uint32
	name int32
}

// PointsPerWeight is the number of ketama points per unit of weight
// (nginx's hard-coded 160).
const PointsPerWeight = 160

// splitHostPort splits a server name as ngx_http_upstream_init_chash does:
// "unix:PATH" is all host; otherwise the port is the run of digits after
// the last ':' when everything after it is digits; else there is no port.
func splitHostPort(name string) (host, port string) {
	if len(name) >= 5 && strings.EqualFold(name[:5], "unix:") {
		return name[5:], ""
	}
	for j := 0; j < len(name); j++ {
		c := name[len(name)-j-1]
		if c == ':' {
			return name[:len(name)-j-1], name[len(name)-j:]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return name, ""
}

// buildRing is ngx_http_upstream_init_chash: for each primary peer in
// config order (down ones included), weight*160 points, the point j being
// crc32(HOST "\0" PORT PREV_HASH) where PREV_HASH is the previous point's
// hash as 4 little-endian bytes (0 for the first point); the points are
// sorted by hash (glibc's qsort is a stable merge sort here) and points of
// equal hash are reduced to the first.
func (g *Group) buildRing() {
	ids := map[string]int32{}
	for _, p := range g.primary.peers {
		id, ok := ids[p.srv.Name]
		if !ok {
			id = int32(len(g.members))
			ids[p.srv.Name] = id
			g.members = append(g.members, nil)
		}
		p.name = id
		g.members[id] = append(g.members[id], p)
	}
	points := make([]chashPoint, 0, g.primary.totalWeight*PointsPerWeight)
	for _, p := range g.primary.peers {
		host, port := splitHostPort(p.srv.Name)
		base := crcString(crcInit, host)
		base = crcBytes(base, []byte{0})
		base = crcString(base, port)
		var prev [4]byte
		for j := 0; j < p.weight*PointsPerWeight; j++ {
			h := crcFinal(crcBytes(base, prev[:]))
			points = append(points, chashPoint{hash: h, name: p.name})
			prev = [4]byte{byte(h), byte(h >> 8), byte(h >> 16), byte(h >> 24)}
		}
	}
	slices.SortStableFunc(points, func(x, y chashPoint) int {
		switch {
		case x.hash < y.hash:
			return -1
		case x.hash > y.hash:
			return 1
		}
		return 0
	})
	if len(points) > 0 {
		i := 0
		for j := 1; j < len(points); j++ {
			if points[i].hash != points[j].hash {
				i++
				points[i] = points[j]
			}
		}
		points = points[:i+1]
	}
	g.points = points
}

// findPoint is ngx_http_upstream_find_chash_point: the index of the first
// point >= hash (len(points) if none; the caller wraps it modulo).
func (g *Group) findPoint(hash uint32) uint32 {
	i, j := 0, len(g.points)
	for i < j {
		k := (i + j) / 2
		switch {
		case hash > g.points[k].hash:
			i = k + 1
		case hash < g.points[k].hash:
			j = k
		default:
			return uint32(k)
		}
	}
	return uint32(i)
}
