# krx build. Every target a user or CI needs; see README.md.
GO      ?= go
PREFIX  ?= /usr/local
BINDIR  := bin
PROGS   := rlogin rlogind rsh rcp
MANDIR  := man
# Benchmarks: BENCH selects, BENCHTIME/COUNT tune a run.
BENCH     ?= .
BENCHTIME ?= 1s
COUNT     ?= 1

.PHONY: all build test demo bench install man clean fuzz

all: build

build:
	@mkdir -p $(BINDIR)
	$(GO) build -trimpath -o $(BINDIR)/ $(addprefix ./cmd/,$(PROGS))

# Everything CI runs. Tests needing root or netns skip with a reason elsewhere;
# CI runs as root, so there they run.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

demo: build
	./scripts/demo.sh

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) ./...

# Short coverage-guided fuzzing of every fuzz target (FUZZTIME each).
FUZZTIME ?= 10s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

man:
	$(GO) run ./internal/cli/genman $(MANDIR)

install: build man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINDIR)/rlogin $(BINDIR)/rsh $(BINDIR)/rcp $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BINDIR)/rlogind $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(MANDIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MANDIR)/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(BINDIR) $(MANDIR)
