package adminapi

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Orders a listing can be sorted in (the sort parameter of GET
// /v1/clients). Every order but SortID puts the most notable clients
// first: the longest idle, the most bytes, the longest connected. Ties
// go by ID.
const (
	SortID        = "id"
	SortIdle      = "idle"
	SortIn        = "in"
	SortOut       = "out"
	SortConnected = "connected"
)

// SortOrders lists the sort orders, for help texts and completions.
var SortOrders = []string{SortID, SortIdle, SortIn, SortOut, SortConnected}

// ClientQuery selects and orders the clients of a listing; the zero value
// is every client, by ID. The daemon does the work, so that a filtered
// listing of a busy server sends only what was asked for.
type ClientQuery struct {
	// Remote keeps the clients whose remote IP is in this prefix (an
	// address alone is a prefix of its full length).
	Remote netip.Prefix
	// IdleOver keeps the clients idle for longer than this; 0 keeps all.
	IdleOver time.Duration
	Sort     string // one of SortOrders; "" is SortID
	Limit    int    // at most this many clients, after sorting; 0 is no limit
}

// Query parameters of GET /v1/clients.
const (
	paramRemote   = "remote"
	paramIdleOver = "idle_over"
	paramSort     = "sort"
	paramLimit    = "limit"
)

// ParseRemote reads a CIDR prefix (10.0.0.0/8) or a single address
// (192.0.2.7, ::1).
func ParseRemote(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("remote %q is not an address or CIDR prefix (10.0.0.0/8, 192.0.2.7)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("remote %q is not an address or CIDR prefix (10.0.0.0/8, 192.0.2.7)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// CheckIdleOver refuses a negative duration.
func CheckIdleOver(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("idle over %s: a duration cannot be negative", d)
	}
	return nil
}

// CheckSort refuses an unknown sort order.
func CheckSort(s string) error {
	if s != "" && !slices.Contains(SortOrders, s) {
		return fmt.Errorf("unknown sort order %q (choose %s)", s, strings.Join(SortOrders, ", "))
	}
	return nil
}

// CheckLimit refuses a limit below 1 (0 means none, and is not sent).
func CheckLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("limit %d: give a positive number of clients", n)
	}
	return nil
}

// Values encodes the query for the URL; the zero query encodes to nothing.
func (q ClientQuery) Values() url.Values {
	v := url.Values{}
	if q.Remote.IsValid() {
		v.Set(paramRemote, q.Remote.String())
	}
	if q.IdleOver > 0 {
		v.Set(paramIdleOver, q.IdleOver.String())
	}
	if q.Sort != "" && q.Sort != SortID {
		v.Set(paramSort, q.Sort)
	}
	if q.Limit > 0 {
		v.Set(paramLimit, strconv.Itoa(q.Limit))
	}
	return v
}

// ParseClientQuery reads the query parameters of GET /v1/clients. Each is
// given at most once; an unknown parameter is an error rather than
// ignored, so that a typo cannot silently list every client.
func ParseClientQuery(v url.Values) (ClientQuery, error) {
	var q ClientQuery
	for name, vals := range v {
		if len(vals) != 1 {
			return q, fmt.Errorf("parameter %q given %d times", name, len(vals))
		}
		val := vals[0]
		var err error
		switch name {
		case paramRemote:
			q.Remote, err = ParseRemote(val)
		case paramIdleOver:
			q.IdleOver, err = time.ParseDuration(val)
			if err != nil {
				err = fmt.Errorf("idle_over %q is not a duration (90s, 5m, 1h30m)", val)
			} else {
				err = CheckIdleOver(q.IdleOver)
			}
		case paramSort:
			q.Sort, err = val, CheckSort(val)
		case paramLimit:
			q.Limit, err = strconv.Atoi(val)
			if err != nil || q.Limit < 1 {
				err = fmt.Errorf("limit %q is not a positive number", val)
			}
		default:
			err = errors.New("unknown parameter " + strconv.Quote(name) + " (remote, idle_over, sort, limit)")
		}
		if err != nil {
			return ClientQuery{}, err
		}
	}
	return q, nil
}
