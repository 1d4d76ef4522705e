package instance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/chatlisten"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/version"
)

// Restart survival, the daemon's part. Under systemd (NOTIFY_SOCKET set,
// the unit has FileDescriptorStoreMax=) the chat listener is kept in the
// service manager's descriptor store and every served connection in a
// holder (package fdstore), so a crash loses no connection and the next
// process takes them all back. A planned restart (systemctl restart, an
// upgrade, chatctl restart) also hands over what each connection's state
// is (package handover), so nothing at all is lost. A stop tells every
// client and leaves nothing in the store.

// survival is what the daemon keeps for restart survival.
type survival struct {
	// store and holder are nil when survival is off (the config key, or
	// no service manager to hold anything).
	store  *fdstore.Notifier
	holder *fdstore.Holder
	// inh is what the previous process left, until Start took it.
	inh *Inheritance
	// requested is set by a restart asked for through the admin API.
	requested atomic.Bool
	// plannedRestart tells a restart from a stop on SIGTERM;
	// handover.PlannedRestart unless a test says otherwise.
	plannedRestart func(context.Context, string) (bool, error)

	// The instance's restart counters (counters.go): the previous
	// process's figures plus what this one's start took over.
	restarts  atomic.Uint64 // restarts whose clients a next process took over
	takenBack atomic.Uint64 // connections taken back at those starts
	lost      atomic.Uint64 // live handed-over connections that could not be served again

	// listenerNames are the names the listening sockets are stored under.
	listenerNames []string

	mu       sync.Mutex
	degraded string // why the config in force is not the one on disk, or ""
	// configNames are the store entries of the kept config (keepConfig):
	// the inherited ones until this process has stored its own.
	configNames []string
}

// SurvivalStats are the restart-survival figures for status and metrics.
type SurvivalStats struct {
	Enabled bool
	// InPlace: no service manager holds the clients; a planned restart
	// re-execs chatd in place and a crash drops them.
	InPlace   bool
	Held      int    // connections held in the store now
	Restarts  uint64 // restarts survived by the instance (not only this process)
	TakenBack uint64 // connections taken back over those restarts
	Lost      uint64 // live handed-over connections closed at a start
	Degraded  string // non-empty: serving on the last good config, and why
}

// Survival returns the restart-survival figures.
func (d *Instance) Survival() SurvivalStats {
	s := &d.surv
	inPlace := s.holder == nil && d.Config().SurviveRestarts
	st := SurvivalStats{Enabled: s.holder != nil || inPlace, InPlace: inPlace, Restarts: s.restarts.Load(),
		TakenBack: s.takenBack.Load(), Lost: s.lost.Load()}
	if s.holder != nil {
		// Those still waiting for the next batch are not held yet: a
		// crash now would lose them.
		hs := s.holder.Stats()
		st.Held = hs.Live - hs.Pending
	}
	s.mu.Lock()
	st.Degraded = s.degraded
	s.mu.Unlock()
	return st
}

// setUpSurvival opens the store and a new holder when survival is on and a
// service manager is there to keep them, and collects what the previous
// process left. Failing to, chatd serves on without it and says why.
func (d *Instance) setUpSurvival() {
	s := &d.surv
	if s.inh == nil {
		s.inh = Inherit()
	}
	// Replaced by this process's own, or removed (keepConfig).
	s.configNames = s.inh.keptNames
	if s.plannedRestart == nil {
		s.plannedRestart = handover.PlannedRestart
	}
	if !d.cfg.SurviveRestarts {
		return
	}
	store, err := fdstore.NewNotifier()
	if errors.Is(err, fdstore.ErrNoNotifySocket) {
		return // no service manager: nothing can hold the connections
	}
	if err != nil {
		d.log.Warn("cannot reach the service manager's descriptor store; clients will not survive a restart", "err", err.Error())
		return
	}
	holder, err := fdstore.NewHolder(store, fdstore.HolderOptions{
		OnError: func(err error) {
			d.log.Warn("cannot hold connections in the descriptor store; they are served but would not survive a crash", "err", err.Error())
		},
	})
	if err != nil {
		store.Close()
		d.log.Warn("cannot keep connections in the descriptor store (is FileDescriptorStoreMax= set?); clients will not survive a restart",
			"err", err.Error())
		return
	}
	s.store, s.holder = store, holder
	d.srv.SetHolder(holder)
	if fdstore.InflightLimited() {
		// Each held client now costs two descriptors (see limits.go).
		socketsHeldTwice.Store(true)
		warnIfMaxClientsLowered(d.log.Logger, d.cfg.MaxClients)
		d.srv.SetSettings(settingsOf(d.cfg))
	}
}

// listenerName is the store's name for the index-th listening socket of
// kind: the first plain one keeps the name it has always had.
func listenerName(kind chatlisten.Kind, index int) string {
	if kind == chatlisten.Plain && index == 0 {
		return fdstore.ListenerName
	}
	return fmt.Sprintf("%s.%s.%d", fdstore.ListenerName, kind, index)
}

// inheritedListener returns the listening socket the previous process
// left in the store for the index-th address of kind, if it listens where
// addr says; else nil, and a new one is opened (and stored, see
// storeListeners), so that a listener never closes across a restart and
// connection attempts wait in its backlog.
func (d *Instance) inheritedListener(kind chatlisten.Kind, index int, addr string) net.Listener {
	s := &d.surv
	name := listenerName(kind, index)
	f := s.inh.files.Take(name)
	if f == nil {
		return nil
	}
	ln, err := fdstore.Listener(f)
	switch {
	case err != nil:
		d.log.Warn("cannot use the listener the previous process left; opening a new one", "name", name, "err", err.Error())
		d.removeFromStore(name)
		return nil
	case !sameListenAddr(ln.Addr(), addr):
		d.log.Info("the listen address changed; opening a new listener", "was", ln.Addr().String(), "now", addr)
		ln.Close()
		d.removeFromStore(name)
		return nil
	case s.store == nil:
		// Survival was turned off: the store must not keep it.
		d.removeFromStore(name)
	}
	return ln
}

// storeListeners keeps every listening socket of set that the store does
// not hold yet in it, under its name, and drops stored listeners that the
// config no longer asks for.
func (d *Instance) storeListeners(set *chatlisten.Set, inherited map[net.Listener]bool) {
	s := &d.surv
	for _, f := range s.inh.files.TakePrefix(fdstore.ListenerName) {
		d.removeFromStore(f.Name())
		f.Close()
	}
	if s.store == nil {
		return
	}
	count := map[chatlisten.Kind]int{}
	for _, l := range set.Listeners {
		name := listenerName(l.Kind, count[l.Kind])
		count[l.Kind]++
		s.listenerNames = append(s.listenerNames, name)
		if inherited[l.Socket] {
			continue
		}
		tl, ok := l.Socket.(*net.TCPListener)
		if !ok {
			continue
		}
		if err := s.store.Store(name, tl, true); err != nil {
			d.log.Warn("cannot keep the listener in the descriptor store; connection attempts during a restart will be refused",
				"listener", l.Addr().String(), "err", err.Error())
		}
	}
}

// sameListenAddr reports whether a listener bound to got serves the
// configured address want ("host:port", host optional).
func sameListenAddr(got net.Addr, want string) bool {
	ta, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(want)
	// Port 0 asks for any port: the inherited one is it.
	if err != nil || (port != "0" && port != fmt.Sprint(ta.Port)) {
		return false
	}
	if host == "" {
		return ta.IP.IsUnspecified()
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, err := net.LookupIP(host)
		return err == nil && len(ips) > 0 && ips[0].Equal(ta.IP)
	}
	return ip.Unmap() == netip.AddrFrom16([16]byte(ta.IP.To16())).Unmap()
}

// takeBack serves again every connection the previous process left, under
// its old ID and, after a planned restart, with everything that process
// knew of it. It runs before the server accepts or reads anything.
func (d *Instance) takeBack() {
	s := &d.surv
	s.startCountersFrom(s.inh.inheritedCounters())
	st := s.inh.state
	if st != nil || s.inh.stateErr != nil {
		// Removed at once: a crash later must not replay this state
		// onto connections that have moved on.
		d.removeFromStore(fdstore.StateName)
	}
	if err := s.inh.stateErr; err != nil {
		d.log.Error("cannot read the hand-over from the previous process; its clients are served with what the store kept", "err", err.Error())
	}
	for _, p := range s.inh.problems {
		d.log.Error("hand-over record damaged; that client is closed with a notice", "problem", p.Error())
	}
	if deg := d.Survival().Degraded; deg != "" {
		d.log.Error("THE CONFIG IS BROKEN: serving the handed-over clients and new ones on the last good config (and the TLS certificate in force before) until it is fixed and reloaded",
			"config_error", deg)
	}
	shards := s.inh.files.TakePrefix(fdstore.HolderPrefix)
	oldNames := make([]string, len(shards))
	for i, f := range shards {
		oldNames[i] = f.Name()
	}
	held, errs := fdstore.Drain(shards)
	held = append(held, d.reexecedConns()...)
	for _, err := range errs {
		d.log.Error("cannot take every connection back from the store", "err", err.Error())
	}

	records := map[uint64]handover.Conn{}
	highest := uint64(0)
	if st != nil {
		highest = st.HighestID
		for _, c := range st.Conns {
			records[c.ID] = c
		}
	}
	for _, h := range held {
		highest = max(highest, h.ID)
	}
	d.ids.Above(highest)

	// A hand-over that came but cannot be read is a planned restart
	// whose records are all lost: those clients are closed with a
	// notice rather than answered without their protocol state.
	planned := st != nil || s.inh.stateErr != nil
	var back, lost, ended int
	balancers := d.balancers()
	for _, h := range held {
		if h.Conn.RemoteAddr() == nil || endedHere(h.Conn) {
			// No peer any more, or one whose connection a chatd
			// process had already ended (kicked, closing) and which has
			// not closed its side yet: a connection that ended while
			// its duplicate waited in the holder, or whose client left
			// during the restart. Nothing to serve, and nothing lost.
			h.Conn.Close()
			ended++
			continue
		}
		rec, ok := records[h.ID]
		if !ok {
			// After a crash only the ID is known; after a planned
			// restart a connection without a good record has lost its
			// state and cannot be answered faithfully.
			rec = handover.Conn{ID: h.ID}
		}
		if h.ID == 0 || (planned && !ok) {
			d.srv.CloseLost(h.Conn)
			lost++
			continue
		}
		nc := h.Conn
		restore := d.srv.Restore
		if rec.Client != "" {
			nc = withClientAddr(nc, rec.Client)
		} else if balancers.Contains(nc.RemoteAddr()) {
			// After a crash the client's address, which the PROXY
			// header gave, is gone with the process: its source is
			// not known (and is not the balancer).
			restore = d.srv.RestoreSourceUnknown
		}
		if err := restore(nc, rec); err != nil {
			d.log.Error("cannot serve a handed-over client again; it is closed with a notice", "id", h.ID, "err", err.Error())
			d.srv.CloseLost(h.Conn)
			lost++
			continue
		}
		back++
	}
	if s.holder != nil && len(held) > 0 {
		if err := s.holder.Flush(); err != nil {
			d.log.Error("cannot hold the taken-back connections; the old store entries are kept", "err", err.Error())
			oldNames = nil
		}
	}
	// The connections are in the new holder: the old shards, emptied, go.
	for _, name := range oldNames {
		d.removeFromStore(name)
	}
	for _, name := range s.inh.files.CloseRest() {
		d.log.Warn("unknown descriptor handed over; closed and removed from the store", "name", name)
		d.removeFromStore(name)
	}
	if s.inh.afterFailedExec {
		// Not a restart: the same process goes on (restartFailed said why).
		d.log.Info("clients served on after the failed restart", "clients", back, "closed", lost, "already_ended", ended)
		return
	}
	if back+lost == 0 && !planned {
		return // a crash with nothing live held: no clients survived it
	}
	s.restarts.Add(1)
	s.takenBack.Add(uint64(back))
	s.lost.Add(uint64(lost))
	kind := "crash"
	if st != nil {
		kind = "planned restart (from " + st.Version + ")"
	} else if planned {
		kind = "planned restart (unreadable hand-over)"
	}
	d.log.Info("clients taken back from the previous process", "after", kind, "clients", back, "closed", lost,
		"already_ended", ended, "highest_id", highest)
}

// balancers are the load balancers the PROXY protocol trusts (none when
// it is off).
func (d *Instance) balancers() proxyheader.Trusted {
	pp := d.Config().ProxyProtocol
	if !pp.Enabled {
		return nil
	}
	trusted, _ := proxyheader.ParseTrusted(pp.Trusted) // checked when loaded
	return trusted
}

// withClientAddr restores what a PROXY-protocol header had said about a
// connection's client, which the balancer does not send again.
func withClientAddr(nc net.Conn, client string) net.Conn {
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	ap, err := netip.ParseAddrPort(client)
	if err != nil {
		return nc
	}
	return proxyheader.Restore(tcp, net.TCPAddrFromAddrPort(ap))
}

func (d *Instance) removeFromStore(name string) {
	s := d.surv.store
	if s == nil {
		var err error
		if s, err = fdstore.NewNotifier(); err != nil {
			return
		}
		defer s.Close()
	}
	if err := s.Remove(name); err != nil {
		d.log.Warn("cannot remove from the descriptor store", "name", name, "err", err.Error())
	}
}

// restartPlanned decides, on SIGTERM, whether the clients are handed over
// (a restart) or told and closed (a stop).
func (d *Instance) restartPlanned() bool {
	s := &d.surv
	if s.holder == nil {
		return false
	}
	if s.requested.Load() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	planned, err := s.plannedRestart(ctx, "")
	if err != nil {
		// Handing over is the safe mistake: on a real stop systemd
		// flushes the store and the clients are disconnected anyway;
		// closing them on a real restart would drop them for nothing.
		d.log.Warn("cannot tell a restart from a stop; handing the clients over", "err", err.Error())
		return true
	}
	return planned
}

// handOver ends this process for a planned restart: nothing new is read,
// what was read is answered, and every connection's state goes into the
// store beside the sockets for the next process. No client is told.
func (d *Instance) handOver() error {
	s := &d.surv
	ctx, cancel := d.handOverContext()
	defer cancel()
	d.log.Info("chatd restarting: handing the clients over to the next process", "clients", d.reg.Len())
	d.notifyStopping()
	st := d.stopForHandOver(ctx)
	f, err := handover.WriteFile(st)
	if err == nil {
		err = s.store.Store(fdstore.StateName, f, false)
		f.Close()
	}
	if err != nil {
		// The sockets are still held: after this the next process
		// serves them as after a crash (IDs kept, counters reset).
		d.log.Error("cannot hand the clients' state over; the next process takes them back as after a crash", "err", err.Error())
	}
	if err := s.holder.Close(); err != nil {
		d.log.Error("cannot hold every connection for the next process", "err", err.Error())
	}
	s.store.Close()
	// Lets go of the state directory's lock: the next process takes it.
	d.ids.Close()
	d.log.Info("chatd handed over", "clients", len(st.Conns))
	d.flushLog(ctx)
	return nil
}

// handOverContext bounds a hand-over: the shutdown grace, and at least
// 5 s, for the connections to finish what they were writing.
func (d *Instance) handOverContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), max(d.Config().ShutdownGrace, 5*time.Second))
}

// stopForHandOver closes the admin API, stops every connection reading
// and lets it finish its writes, and returns the state the next process
// (after systemd's restart or a re-exec) serves them on with.
func (d *Instance) stopForHandOver(ctx context.Context) *handover.State {
	d.stopAdmin()
	conns, err := d.srv.HandOver(ctx)
	if err != nil {
		d.log.Warn("some clients were still busy when the hand-over ran out of time; they were closed", "err", err.Error())
	}
	return &handover.State{Version: version.String(), WrittenAt: time.Now(), HighestID: d.ids.Highest(),
		Config: d.lastGoodConfig(), TLS: d.tlsInForce(), Counters: d.surv.counters(), Conns: conns}
}

// discardHeld empties the store at the end of a stop: every client has
// been told and shut down, and nothing may be handed to a later start.
func (d *Instance) discardHeld() {
	s := &d.surv
	if s.holder == nil {
		return
	}
	if err := s.holder.Discard(); err != nil {
		d.log.Warn("cannot empty the descriptor store", "err", err.Error())
	}
	d.forgetConfig()
	for _, name := range s.listenerNames {
		s.store.Remove(name)
	}
	s.store.Close()
}

// lastGoodConfig is the config to hand to the next process: the one this
// process runs on, as it was read.
func (d *Instance) lastGoodConfig() []byte {
	b, err := d.Config().YAML()
	if err != nil {
		d.log.Warn("cannot keep the config for the next process", "err", err.Error())
		return nil
	}
	return b
}

// RequestRestart makes the next stop a planned restart (chatctl restart).
func (d *Instance) RequestRestart() { d.surv.requested.Store(true) }

// survivalForAdmin is Survival for the admin API.
func (d *Instance) survivalForAdmin() adminapi.Survival {
	s := d.Survival()
	return adminapi.Survival{Enabled: s.Enabled, InPlace: s.InPlace, Held: s.Held, Restarts: s.Restarts,
		TakenBack: s.TakenBack, Lost: s.Lost, Degraded: s.Degraded}
}
