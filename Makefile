# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make            the daemon, the client and the example versions, into build/
# make test       build and run every test (as root); make tests builds them only
# make test-long  the slow scenarios (tests/*.long.sh): crash trials, swaps at rate
# make test-stress make test with every core kept busy (stress-ng)
# make check      the unit tests that need no privileges, as any user
# make sim        the judge's A/A and power tables on flow-level traffic (tests/test_sim.c)
# make sim2       the same on held-out session-level traffic (tests/test_sim2.c, docs/SIM2.md)
# make bench      side-by-side performance ratios
# make demo       the live demo on a veth test bed
# make install    canaryd, canaryctl, example versions and config, systemd unit,
#                 man pages, bash completion
# make deb        a Debian package (debhelper) in build/deb/
#                 (PREFIX=/usr/local, DESTDIR for staging)
# make fuzz       run each libFuzzer target for FUZZ_TIME seconds (default 60)
# make SANITIZE=1 [test]  ASan+UBSan build into build-san/ (and its tests)
# make valgrind   the unit tests under valgrind
# V=1 shows the commands; CC, CLANG, BPFTOOL, SCDOC, PREFIX, DESTDIR can be overridden.

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
SCDOC ?= scdoc
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
DOCDIR ?= $(PREFIX)/share/doc/canaryd
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(LIBDIR)/systemd/system
# canaryd.service reads /etc/canaryd/canaryd.ini whatever the PREFIX.
SYSCONFDIR ?= /etc

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m)
CFLAGS ?= -g -O2
# SANITIZE=1: every user-space binary with ASan + UBSan, in its own build dir
# so its objects never mix with build/. UBSan aborts, so a finding fails.
ifeq ($(SANITIZE),1)
O := build-san
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# The instrumentation hides array bounds from gcc's snprintf range analysis:
# it then warns that a 16-byte interface name may need 800 kB.
override CFLAGS += -Wno-format-truncation
else
O := build
endif
# -MMD -MP: each object's header dependencies in a .d file next to it.
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -MMD -MP -Ibpf/include -I$(O) -Ilib -Irollout
# -mcpu=v3: 32-bit ALU and jumps, no zero-extension shifts on every int compare.
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall -Werror -Ibpf/include -I/usr/include/$(ARCH)-linux-gnu
BPF_LIBS := $(shell $(PKG_CONFIG) --libs libxdp libbpf 2>/dev/null || echo -lxdp -lbpf -lelf -lz)
TEST_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
TOOL_LIBS := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
INI_LIBS := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)
PCAP_LIBS := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
CURL_LIBS := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
CRYPTO_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto)
MHD_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
SYSTEMD_LIBS := $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null || echo -lsystemd)
MNL_LIBS := $(shell $(PKG_CONFIG) --libs libmnl 2>/dev/null || echo -lmnl)

BPF_HDRS := $(wildcard bpf/include/*.h)

# BPF objects: the dispatcher, the example versions, test programs, tools.
VERSION_SRCS := $(wildcard bpf/versions/*.bpf.c)
VERSION_OBJS := $(patsubst bpf/versions/%.bpf.c,$(O)/versions/%.bpf.o,$(VERSION_SRCS))
# Multi-buffer builds (SEC("xdp.frags"), -DCANARY_FRAGS) for a frags dispatcher.
FRAGS_VERSIONS := fw_v1 fw_v2
VERSION_OBJS += $(patsubst %,$(O)/versions/%.frags.bpf.o,$(FRAGS_VERSIONS))
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(O)/tests/%.bpf.o,$(TEST_BPF_SRCS))
TOOL_BPF_SRCS := $(wildcard tools/*.bpf.c)
TOOL_BPF_OBJS := $(patsubst tools/%.bpf.c,$(O)/tools/%.bpf.o,$(TOOL_BPF_SRCS))
TOOL_SKELS := $(patsubst tools/%.bpf.c,$(O)/%.skel.h,$(TOOL_BPF_SRCS))

# lib/: the datapath library (libcanary), used by the daemon, the client,
# the tools and the tests. rollout/: the decision core. canaryd/: the
# daemon; its pieces other than main() go into an archive the tests link.
LIB_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(wildcard lib/*.c))
LIB := $(O)/libcanary.a
ROLLOUT_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(wildcard rollout/*.c))
ROLLOUT := $(O)/librollout.a
DAEMON_MAIN := canaryd/main.c
DAEMON_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(filter-out $(DAEMON_MAIN),$(wildcard canaryd/*.c)))
DAEMON_LIB := $(O)/libcanaryd.a
CTL_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(wildcard canaryctl/*.c))

# Test programs: tests/test_*.c, each linked with the libraries and cmocka.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRCS))
TEST_COMMON := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/lib/*.c))

TOOL_SRCS := $(filter-out %.bpf.c,$(wildcard tools/*.c))
TOOL_BINS := $(patsubst tools/%.c,$(O)/%,$(TOOL_SRCS))

# Fuzz targets (tests/fuzz/fuzz_*.c): clang's libFuzzer with ASan + UBSan,
# linked with the pure parts of the libraries built the same way.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_SRCS := canaryd/config.c canaryd/config_values.c canaryd/config_keys.c lib/log.c lib/parse.c canaryd/state.c canaryd/request.c \
	canaryd/metrics.c lib/history.c lib/report.c $(wildcard rollout/*.c)
FUZZ_LIB_OBJS := $(patsubst %.c,$(O)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
# Not -fsanitize=bool: fuzz_state feeds CRC-valid state files whose bools may
# hold any byte (each reads as true); the loader checks what can do harm:
# indexes, counts, enums, the plan and the judge configuration.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize=bool -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -MMD -MP $(FUZZ_SAN) -Ibpf/include -I$(O) \
	-Ilib -Icanaryd -Irollout
FUZZ_TIME ?= 60

# Man pages: scdoc sources in man/ (NAME.SECTION.scd), roff in $(O)/man/.
MAN_SRCS := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(O)/man/%,$(MAN_SRCS))

# What a user needs; the tests and tools come with "make test", the fuzz
# targets with "make fuzz" (and "make test", whose regression test replays them).
all: $(O)/canaryd $(O)/canaryctl $(O)/webhook_receiver $(VERSION_OBJS) $(MAN_PAGES)

$(O)/man/%: man/%.scd | $(O)
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D) && $(SCDOC) <$< >$@.tmp && mv $@.tmp $@

TEST_DEPS := all $(O)/dispatcher.bpf.o $(TEST_BPF_OBJS) $(TOOL_BPF_OBJS) $(TEST_BINS) $(TOOL_BINS) \
	$(FUZZ_BINS) $(O)/fuzz/gen_state_seeds
$(O)/dispatcher.bpf.o: bpf/dispatcher/dispatcher.bpf.c $(BPF_HDRS) | $(O)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/dispatcher.skel.h: $(O)/dispatcher.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name dispatcher > $@.tmp && mv $@.tmp $@

$(O)/versions/%.bpf.o: bpf/versions/%.bpf.c $(BPF_HDRS) $(wildcard bpf/versions/*.h) | $(O)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -Ibpf/versions -c $< -o $@

$(O)/versions/%.frags.bpf.o: bpf/versions/%.bpf.c $(BPF_HDRS) $(wildcard bpf/versions/*.h) | $(O)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -DCANARY_FRAGS -Ibpf/versions -c $< -o $@

$(O)/tests/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS) | $(O)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Built from stateful.bpf.c with another table size.
$(O)/tests/stateful_other.bpf.o: tests/bpf/stateful.bpf.c

$(O)/tools/%.bpf.o: tools/%.bpf.c $(BPF_HDRS) | $(O)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/tools/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Every user-space object; the generated skeletons exist before the first
# compile, the .d files track headers after it.
$(O)/obj/%.o: %.c | $(O)/dispatcher.skel.h $(TOOL_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CFLAGS) $(INC_$(firstword $(subst /, ,$<))) -c $< -o $@

INC_canaryd := -Icanaryd
INC_canaryctl := -Icanaryctl -Icanaryd
INC_tests := -Itests -Itests/lib -Icanaryd
# config_keys prints the config parser's key table.
INC_tools := -Icanaryd

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(ROLLOUT): $(ROLLOUT_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(DAEMON_LIB): $(DAEMON_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

LIBS_ALL := $(DAEMON_LIB) $(LIB) $(ROLLOUT)
LINK_LIBS := $(BPF_LIBS) $(INI_LIBS) $(CRYPTO_LIBS) -lz -lm

$(TEST_BINS): $(O)/tests/%: $(O)/obj/tests/%.o $(TEST_COMMON) $(LIBS_ALL) | $(O)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CFLAGS) $< $(TEST_COMMON) $(LIBS_ALL) $(LINK_LIBS) $(TEST_LIBS) -o $@

$(TOOL_BINS): $(O)/%: $(O)/obj/tools/%.o $(LIBS_ALL) | $(O)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIBS_ALL) $(LINK_LIBS) $(TOOL_LIBS) -o $@

# The webhook receiver for tests and trying gates by hand.
$(O)/webhook_receiver: TOOL_LIBS += $(MHD_LIBS) $(CRYPTO_LIBS)

# The daemon.
$(O)/canaryd: $(patsubst %.c,$(O)/obj/%.o,$(DAEMON_MAIN)) $(LIBS_ALL) | $(O)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIBS_ALL) $(LINK_LIBS) $(TOOL_LIBS) $(CURL_LIBS) $(MHD_LIBS) \
		$(SYSTEMD_LIBS) $(MNL_LIBS) -o $@

# The client: jansson for the daemon's protocol; libbpf (through the datapath
# library's loaders) and libpcap for "preflight", which runs without a daemon;
# the decision core's step list parser, so a bad --steps is refused early;
# canaryd's config parser (the archive's config objects only), for the
# state_dir that history and report read.
$(O)/canaryctl: $(CTL_OBJS) $(DAEMON_LIB) $(LIB) $(ROLLOUT) | $(O)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(CTL_OBJS) $(DAEMON_LIB) $(LIB) $(ROLLOUT) $(LINK_LIBS) $(PCAP_LIBS) \
		$(TOOL_LIBS) -o $@

# Its test runs build/canaryctl against a fake daemon and parses JSON.
$(O)/tests/test_canaryctl: $(O)/canaryctl
$(O)/tests/test_canaryctl: TEST_LIBS += $(TOOL_LIBS)
# History and reports: jansson.
$(O)/tests/test_history: TEST_LIBS += $(TOOL_LIBS)
# The control socket's test: the daemon library's command handlers (jansson, libcurl).
$(O)/tests/test_control: TEST_LIBS += $(TOOL_LIBS) $(CURL_LIBS)
# The webhook queue: libcurl (never sends), OpenSSL.
$(O)/tests/test_webhook: TEST_LIBS += $(TOOL_LIBS) $(CURL_LIBS)
# Its test writes captures (libpcap) and runs build/canaryctl preflight.
$(O)/tests/test_preflight: $(O)/canaryctl $(TEST_BPF_OBJS) $(VERSION_OBJS)
$(O)/tests/test_preflight: TEST_LIBS += $(PCAP_LIBS) $(TOOL_LIBS)
# The capture writer (lib/capfile.c), read back with libpcap.
$(O)/tests/test_capture: TEST_LIBS += $(PCAP_LIBS)

$(O)/fuzz/obj/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	$(call msg,CCLD-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) $(BPF_LIBS) $(INI_LIBS) \
		$(TOOL_LIBS) -lz -lm -o $@

# Writes valid state files (seeds for fuzz_state) with canaryd_state__save.
$(O)/fuzz/gen_state_seeds: tests/fuzz/gen_state_seeds.c $(FUZZ_LIB_OBJS)
	$(call msg,CCLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_OBJS) $(BPF_LIBS) $(INI_LIBS) $(TOOL_LIBS) \
		-lz -lm -o $@

$(O):
	$(Q)mkdir -p $(O)

# Everything the tests need, built but not run.
tests: $(TEST_DEPS)

test: $(TEST_DEPS)
	$(Q)CANARY_BUILD=$(abspath $(O)) tests/run.sh

# The unit tests that need no privileges, as any user: judge, engine,
# config, metrics renderer, canaryctl against its fake daemon, history and
# reports, the control socket, link and dispatcher-settings decisions, the
# state file's layouts, the shadow evidence.
CHECK_TESTS := test_canaryctl test_config test_control test_engine test_judge test_link \
	test_metrics test_reconcile test_history test_settings test_state test_shadow test_webhook \
	test_entity test_capture
check: $(addprefix $(O)/tests/,$(CHECK_TESTS))
	$(Q)CANARY_BUILD=$(abspath $(O)) CHECK_TESTS="$(CHECK_TESTS)" tests/run.sh --check

# make test with every core kept busy by stress-ng.
test-stress: $(TEST_DEPS)
	$(Q)CANARY_BUILD=$(abspath $(O)) tests/stress.sh

fuzz: $(FUZZ_BINS) $(O)/fuzz/gen_state_seeds
	$(Q)tests/fuzz/run.sh $(O) $(FUZZ_TIME) $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))

# The unit tests under valgrind; definite leaks and memory errors fail.
valgrind: $(TEST_BINS)
	$(Q)tests/valgrind.sh $(TEST_BINS)

test-long: $(TEST_DEPS)
	$(Q)tests/run.sh --long

# The full flow-level simulation: 1,000 A/A rollouts per family, 200 per harm.
sim: $(O)/tests/test_sim
	$(Q)$(O)/tests/test_sim --tables

# The held-out simulator (tests/lib/flowsim2.c, docs/SIM2.md): 200 A/A per family, 50 per harm.
sim2: $(O)/tests/test_sim2
	$(Q)$(O)/tests/test_sim2 --tables

bench: $(TEST_DEPS)
	$(Q)tests/bench.sh

demo: $(TEST_DEPS)
	$(Q)tests/demo.sh

# What canaryd needs at run time: the dispatcher is built into it (skeleton);
# the example versions go to $(LIBDIR)/canaryd/versions, and the example
# config (pointing at them) next to where canaryd.service looks for
# canaryd.ini. The example is not installed as canaryd.ini itself: its
# [interface eth0] would attach to a real NIC at the first start.
install: $(O)/canaryd $(O)/canaryctl $(O)/webhook_receiver $(VERSION_OBJS) $(MAN_PAGES)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/canaryd/versions \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/canaryd $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(Q)for m in $(MAN_PAGES); do \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; done
	$(Q)install -m 0755 $(O)/canaryd $(DESTDIR)$(SBINDIR)/canaryd
	$(Q)install -m 0755 $(O)/canaryctl $(DESTDIR)$(BINDIR)/canaryctl
	$(Q)install -m 0755 $(O)/webhook_receiver $(DESTDIR)$(BINDIR)/canary-webhook-receiver
	$(Q)install -m 0644 $(VERSION_OBJS) $(DESTDIR)$(LIBDIR)/canaryd/versions/
	$(Q)sed 's|@PREFIX@|$(PREFIX)|g' examples/systemd/canaryd.service \
		>$(DESTDIR)$(UNITDIR)/canaryd.service && chmod 0644 $(DESTDIR)$(UNITDIR)/canaryd.service
	$(Q)sed 's|/etc/canaryd/versions/|$(LIBDIR)/canaryd/versions/|g' examples/canaryd.ini \
		>$(DESTDIR)$(SYSCONFDIR)/canaryd/canaryd.ini.example
	$(Q)install -m 0644 README.md docs/DESIGN.md docs/JUDGE.md examples/kubernetes.md \
		examples/webhook-receiver.md $(DESTDIR)$(DOCDIR)/
	$(Q)install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(Q)install -m 0644 contrib/bash-completion/canaryctl \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/canaryctl

# The Debian package (debian/, debhelper): dpkg-buildpackage in a copy of the
# tree under $(O)/deb/src (so build/ here is left alone: none of this make's
# variables, O= included, may reach debian/rules' own make clean), the .deb
# in $(O)/deb/, then lintian, which must find no error.
DEB_DIR := $(O)/deb
deb:
	$(call msg,DEB,$(DEB_DIR))
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)tar -cf - --exclude=./build --exclude=./build-san --exclude=./.git . | \
		tar -xf - -C $(DEB_DIR)/src
	$(Q)cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc $(if $(filter 1,$(V)),,>../build.log 2>&1) || \
		{ tail -40 ../build.log 2>/dev/null; exit 1; }
	$(Q)lintian --fail-on error --info $(DEB_DIR)/*.changes
	$(Q)ls $(DEB_DIR)/*.deb

clean:
	$(call msg,CLEAN,$(O))
	$(Q)rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)

.PHONY: all tests test test-long test-stress check sim sim2 bench demo install deb clean fuzz valgrind
.DELETE_ON_ERROR:
.SECONDARY:
