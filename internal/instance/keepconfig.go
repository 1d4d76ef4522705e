package instance

import (
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/version"
)

// keepConfig puts the config in force into the descriptor store (the
// hand-over format, without clients), replacing the one kept before; the
// instance's restart counters go with it (counters.go), which is why it
// runs after the clients were taken back at start. A
// planned restart hands the config over with its state; a crash leaves
// no state, and without this a crash after someone broke the file (a
// typo waiting for the next restart) would start chatd onto the broken
// file, exit 2, and drop every held client with it.
func (d *Instance) keepConfig() {
	s := &d.surv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		d.removeKeptConfigs() // survival is off: nothing may stay in the store
		return
	}
	doc := d.lastGoodConfig()
	if doc == nil {
		return
	}
	// A new name each time: the new entry is in before the old one goes,
	// so a crash in between still finds one (the newer wins at start).
	name := fdstore.ConfigPrefix + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, err := handover.WriteFile(&handover.State{Version: version.String(), WrittenAt: time.Now(), Config: doc, TLS: d.tlsInForce(),
		Counters: s.counters()})
	if err == nil {
		err = s.store.Store(name, f, false)
		f.Close()
	}
	if err != nil {
		d.log.Warn("cannot keep the config in the descriptor store; a crash onto a broken config file would drop the held clients",
			"err", err.Error())
		return
	}
	d.removeKeptConfigs()
	s.configNames = []string{name}
}

// forgetConfig removes the kept config from the store (a stop).
func (d *Instance) forgetConfig() {
	d.surv.mu.Lock()
	defer d.surv.mu.Unlock()
	d.removeKeptConfigs()
}

// removeKeptConfigs removes the entries in configNames; surv.mu is held.
func (d *Instance) removeKeptConfigs() {
	for _, name := range d.surv.configNames {
		d.removeFromStore(name)
	}
	d.surv.configNames = nil
}
