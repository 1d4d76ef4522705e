# chatd's build shortcuts. Nothing here is needed to run or test chatd
# (see the README); they give the three programs their real names and
# build the packages.

BIN ?= bin
GO ?= go
# The version `chatd version` prints: the rule install.sh and the packages
# stamp too (internal/version: 1.2.0, 1.2.0+3.g422cbac, 0.0.0~git…).
VERSION ?= $(shell $(GO) run ./internal/version/fromgit 2>/dev/null || echo dev)
LDFLAGS = -X github.com/chatd/chatd/internal/version.Version=$(VERSION)

.PHONY: build version packages test clean

# bin/chatd, bin/chatctl and bin/chat (go install ./... would name them
# after their directories: daemon, ctl, client).
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/chatd ./daemon
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/chatctl ./ctl
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/chat ./client

# The version build stamps, for scripts and the tests.
version:
	@echo $(VERSION)

# dist/chatd_VERSION-1_{amd64,arm64}.deb and the matching .rpm files.
packages:
	$(GO) -C internal/packaging run .

test:
	$(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN) dist

# A throwaway systemd with chatd installed in it by install.sh, to try
# the service as the service tests do, without touching this machine (as
# root; new namespaces and overlays, every write vanishes at power-off).
# It prints how to get in and stays up until Enter, Ctrl-C or an hour
# (SANDBOX=20m for less).
SANDBOX ?= 1
.PHONY: sandbox
sandbox:
	CHATD_SANDBOX=$(SANDBOX) $(GO) test -count=1 -v -timeout 75m -run '^TestSandboxToTry$$' ./internal/integration
