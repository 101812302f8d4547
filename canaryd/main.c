// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * canaryd: runs staged rollouts of XDP program versions, one per managed
 * interface. The imperative shell around rollout/: it moves counter samples
 * from the dispatcher into the engine, and the engine's actions back into
 * the dispatcher, the state files, the log and the control socket
 * (canaryd.h lists the parts).
 *
 *   canaryd [-c|--config FILE] [-v|--verbose]
 *
 * On exit (SIGTERM, SIGINT) the datapath keeps running with its last
 * weights, and a restarted canaryd adopts it from the pins; SIGHUP reloads
 * the rollout and judge defaults from the config file.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <linux/magic.h>

#include "canaryd.h"
#include "dp.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "webhook.h"

static int reload_config(struct canaryd *d)
{
	static struct canaryd_config fresh;
	char err[4096] = "";
	int i, j;

	if (canaryd_config__load(&fresh, d->config_path, err, sizeof(err))) {
		pr_warn("SIGHUP: config %s not reloaded, keeping the old one:\n%s\n",
			d->config_path, err);
		return -EINVAL;
	}
	for (i = 0; i < d->nr_ifaces; i++) {
		for (j = 0; j < fresh.nr_ifaces; j++)
			if (!strcmp(fresh.iface[j].name, d->iface[i].cfg.name))
				break;
		if (j == fresh.nr_ifaces) {
			pr_warn("SIGHUP: iface %s left the config; it stays as it is until "
				"restart\n", d->iface[i].cfg.name);
			/* Its webhook indices point into the old table: send nothing. */
			d->iface[i].cfg.nr_hooks = 0;
			d->iface[i].cfg.gate_hook = -1;
			continue;
		}
		/* Rollout and judge defaults apply from the next rollout on. */
		d->iface[i].cfg.rollout = fresh.iface[j].rollout;
		d->iface[i].cfg.judge = fresh.iface[j].judge;
		/* Dispatcher settings now (symmetric waits for a running rollout's end). */
		d->iface[i].cfg.fail_closed = fresh.iface[j].fail_closed;
		canaryd_iface__settings(&d->iface[i], "SIGHUP");
		d->iface[i].cfg.reattach = fresh.iface[j].reattach;
		d->iface[i].link.reattach = fresh.iface[j].reattach;
		/* Webhooks too: requests already queued keep what they were made with. */
		memcpy(d->iface[i].cfg.webhooks, fresh.iface[j].webhooks,
		       sizeof(fresh.iface[j].webhooks));
		d->iface[i].cfg.nr_hooks = fresh.iface[j].nr_hooks;
		memcpy(d->iface[i].cfg.hook, fresh.iface[j].hook, sizeof(fresh.iface[j].hook));
		d->iface[i].cfg.gate_hook = fresh.iface[j].gate_hook;
	}
	d->config.nr_webhooks = fresh.nr_webhooks;
	memcpy(d->config.webhook, fresh.webhook, sizeof(fresh.webhook));
	/* A gate being asked is asked again with the new URL and secret. */
	for (i = 0; i < d->nr_ifaces; i++)
		if (d->iface[i].has_rollout && d->iface[i].st.ro.gate &&
		    canary_webhook__gate_pending(&d->iface[i])) {
			canary_webhook__cancel_gate(&d->iface[i]);
			canaryd_iface__ask_gate(d, &d->iface[i], d->iface[i].st.ro.gate);
		}
	for (j = 0; j < fresh.nr_ifaces; j++)
		if (!canaryd__find_iface(d, fresh.iface[j].name))
			pr_warn("SIGHUP: new iface %s needs a restart of canaryd\n",
				fresh.iface[j].name);
	canary_log_set_level(fresh.log_level);
	pr_info("SIGHUP: config %s reloaded\n", d->config_path);
	canaryd_links__check(d);	/* reattach = yes may repair a detachment now */
	return 0;
}

/* The metrics page, from the same state "status" reads (metrics.h). */
static int render_metrics(void *ctx, char **out, size_t *len)
{
	static char ids[CANARY_MAX_IFACES][64];
	struct canary_metrics_iface m[CANARY_MAX_IFACES];
	const struct canaryd *d = ctx;
	int i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < d->nr_ifaces; i++) {
		const struct iface *ifc = &d->iface[i];

		m[i].name = ifc->cfg.name;
		m[i].managed = canaryd_iface__managed(ifc);
		m[i].link = ifc->link.state;
		m[i].mtu = ifc->mtu;
		m[i].dispatcher = ifc->dp != NULL;
		m[i].mtu_fits = ifc->mtu_fit != ROLLOUT_FRAGS_FIT_NEEDS_FRAGS;
		if (ifc->dp && ifc->have_last) {
			m[i].counters = ifc->last;
			m[i].breaker = &ifc->brk;
		}
		if (ifc->has_rollout) {
			snprintf(ids[i], sizeof(ids[i]), "%s-%llu", ifc->cfg.name,
				 (unsigned long long)ifc->st.rollout_id);
			m[i].rollout = &ifc->st.ro;
			m[i].rollout_id = ids[i];
			m[i].candidate = ifc->st.cand_obj;
		}
		memcpy(m[i].decisions, ifc->decisions, sizeof(m[i].decisions));
	}
	return canary_metrics__render(m, d->nr_ifaces, out, len);
}

/* systemd's STATUS=: one line, sent when it changes. */
static void notify_status(const struct canaryd *d, bool ready)
{
	static char last[512];
	char line[512], waiting[256];
	int i, n, managed = 0;

	for (i = 0; i < d->nr_ifaces; i++)
		managed += canaryd_iface__managed(&d->iface[i]);
	n = snprintf(line, sizeof(line), "managing %d of %d interfaces", managed, d->nr_ifaces);
	if (canaryd_links__waiting(d, waiting, sizeof(waiting)))
		n += snprintf(line + n, sizeof(line) - n, "; waiting for %s", waiting);
	for (i = 0; i < d->nr_ifaces && n < (int)sizeof(line); i++) {
		const struct rollout *r = &d->iface[i].st.ro;

		if (d->iface[i].has_rollout && !rollout__done(r))
			n += snprintf(line + n, sizeof(line) - n, "; %s: %s step %u/%u at %.2f%%",
				      d->iface[i].cfg.name, rollout_phase__name(r->phase),
				      r->step + 1, r->plan.nr_steps, r->share_bp / 100.0);
	}
	if (!ready && !strcmp(line, last))
		return;
	snprintf(last, sizeof(last), "%s", line);
	sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "", line);
}

/*
 * Everything canaryd owns is pinned under pin_root so the datapath outlives
 * it: that must be a bpffs. 0, or -errno after one line that says what to do.
 */
static int pin_root_check(const char *dir)
{
	bool made = !mkdir(dir, 0700);
	struct statfs sfs;

	if (!made && errno != EEXIST) {
		pr_warn("pin_root %s: cannot create: %s; is bpffs mounted? mount -t bpf bpf "
			"/sys/fs/bpf (or set pin_root under a mounted bpffs)\n", dir,
			strerror(errno));
		return -errno;
	}
	if (statfs(dir, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		pr_warn("pin_root %s is not on a bpffs, so nothing can be pinned there; mount "
			"one (mount -t bpf bpf /sys/fs/bpf) or set pin_root under a mounted bpffs; "
			"nothing was changed\n", dir);
		if (made)
			rmdir(dir);
		return -ENOTSUP;
	}
	return 0;
}

struct opts {
	const char *config;
	bool verbose, help;
};

static const struct canary_opt canaryd_opts[] = {
	CANARY_OPTION(struct opts, "config", 'c', "FILE", config,
		      "INI configuration (default /etc/canaryd/canaryd.ini)"),
	CANARY_OPTION(struct opts, "verbose", 'v', NULL, verbose,
		      "debug logging (libbpf, libxdp and the verifier included)"),
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

#define METRICS_RETRY_MS 10000

/*
 * The metrics endpoint, bound before any interface is touched; a busy port
 * (or an address not there yet) is logged once and tried again every 10 s,
 * canaryd running on without it meanwhile: never a crash loop with a
 * candidate left unjudged. Status says "listening", "unbound" or "off".
 * 0, or the errno of a failed try (main() logs the first).
 */
static int metrics_retry(struct canaryd *d, struct canary_metrics_server **msrv, __u64 now)
{
	static __u64 next, since;

	if (!strcmp(d->config.metrics, "off") || !d->config.metrics[0]) {
		d->metrics_state = "off";
		return 0;
	}
	if (*msrv || now < next)
		return 0;
	next = now + METRICS_RETRY_MS;
	*msrv = canary_metrics__listen(d->config.metrics, render_metrics, d);
	if (*msrv) {
		if (since)
			pr_info("metrics %s: listening, %llu s after the first try\n",
				d->config.metrics, (unsigned long long)(now - since) / 1000);
		d->metrics_state = "listening";
		return 0;
	}
	since = since ?: now;
	d->metrics_state = "unbound";
	return errno ?: EIO;
}

static void usage(FILE *f)
{
	fputs("usage: canaryd [-c|--config FILE] [-v|--verbose]\n", f);
	canary_opts__print(f, canaryd_opts);
}

int main(int argc, char **argv)
{
	/* Static: the configuration and the interfaces are large. */
	static struct canaryd daemon = { .config_path = "/etc/canaryd/canaryd.ini" };
	struct canaryd *d = &daemon;
	char err_text[8192] = "";
	struct itimerspec its = {};
	struct canary_metrics_server *msrv = NULL;
	/*
	 * Ours (signals, timer), the metrics server's, RTNETLINK's, the control
	 * socket's, then libcurl's (2 per request).
	 */
	struct pollfd pfd[4 + 1 + CANARYD_CTL_CLIENTS + 2 * 64];
	struct opts o = {};
	sigset_t sigs;
	int i, sfd = -1, tfd = -1, err, merr, managed = 0, rc = 1;
	__u64 last_tick;

	err = canary_opts__parse_tool(argc, argv, "canaryd", canaryd_opts, &o, &o.help, NULL, usage);
	if (err)
		return err > 0 ? 0 : 1;
	if (o.config)
		d->config_path = o.config;
	canary_log_init_libs();
	if (canary_webhooks__init(canaryd__on_gate, d)) {
		fprintf(stderr, "canaryd: libcurl cannot be initialised\n");
		return 1;
	}
	err = canaryd_config__load(&d->config, d->config_path, err_text, sizeof(err_text));
	if (err) {
		fprintf(stderr, "%s", err_text);
		if (err_text[0] && err_text[strlen(err_text) - 1] != '\n')
			fputc('\n', stderr);
		fprintf(stderr, "canaryd: config %s refused; nothing was changed\n",
			d->config_path);
		return 1;
	}
	canary_log_set_level(o.verbose ? CANARY_LOG_DEBUG
				     : (enum canary_log_level)d->config.log_level);
	if (pin_root_check(d->config.pin_root))
		return 1;
	if (mkdir(d->config.state_dir, 0700) && errno != EEXIST) {
		pr_warn("state dir %s: cannot create: %s\n", d->config.state_dir, strerror(errno));
		return 1;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The socket and metrics first: a canaryd that cannot serve touches no interface. */
	if (canaryd_control__open(&d->ctl, d->config.socket))
		return 1;
	merr = metrics_retry(d, &msrv, canaryd_now_ms());
	d->nr_ifaces = d->config.nr_ifaces;
	/* Subscribed before the first look: an interface that appears in between is seen. */
	canaryd_netlink__open(d);
	for (i = 0; i < d->nr_ifaces; i++) {
		d->iface[i].cfg = d->config.iface[i];
		err = canaryd_links__setup(d, &d->iface[i]);
		if (d->iface[i].locked_out) {
			d->nr_ifaces = i + 1;	/* the ones set up so far are closed */
			goto out;	/* another canaryd: touch nothing more */
		}
		managed += !err;
	}
	/* Logged here, not before: a canaryd refused an interface above says only that. */
	if (merr)
		pr_warn("metrics %s: cannot listen: %s; canaryd runs on without metrics and "
			"tries again every %d s; free the port or set [daemon] metrics to another "
			"address, or off\n", d->config.metrics, strerror(merr),
			METRICS_RETRY_MS / 1000);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	its.it_interval.tv_sec = d->config.interval_ms / 1000;
	its.it_interval.tv_nsec = (d->config.interval_ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		pr_warn("canaryd: cannot set up signals or timer: %s\n", strerror(errno));
		goto out;
	}
	pr_info("canaryd: managing %d of %d interfaces, control socket %s, metrics %s%s, "
		"interval %llu ms\n", managed, d->nr_ifaces, d->config.socket,
		d->config.metrics, msrv ? "" : strcmp(d->metrics_state, "off") ? " (unbound)" : "",
		(unsigned long long)d->config.interval_ms);
	/*
	 * READY=1: the socket answers and every configured interface that exists
	 * has been set up (managed, or refused with its error); the ones that do
	 * not exist yet are named in STATUS= and in status, and attached when
	 * they appear.
	 */
	notify_status(d, true);
	printf("ready\n");
	fflush(stdout);

	last_tick = canaryd_now_ms();
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = canaryd_netlink__fd(d), .events = POLLIN };
	/* Anything that changed between the first look and the subscription's first read. */
	canaryd_links__check(d);
	for (;;) {
		int timeout = canary_metrics__timeout_ms(msrv), n, nctl, lt;

		pfd[2] = (struct pollfd){ .fd = canary_metrics__fd(msrv), .events = POLLIN };
		/* The control socket's clients, each with its deadline. */
		nctl = canaryd_control__pollfds(&d->ctl, pfd + 4, &timeout);
		/* libcurl's sockets and timers too: webhooks progress without blocking us. */
		n = canary_webhooks__pollfds(pfd + 4 + nctl,
					     sizeof(pfd) / sizeof(pfd[0]) - 4 - nctl, &timeout);
		/* A detachment noted is confirmed (or found a deletion) on time. */
		lt = canaryd_links__timeout_ms(d);
		if (lt >= 0 && (timeout < 0 || lt < timeout))
			timeout = lt;
		if (poll(pfd, 4 + nctl + n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("canaryd: poll failed: %s; exiting, the datapath keeps running "
				"with its last weights\n", strerror(errno));
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					reload_config(d);
					notify_status(d, true);
				} else {
					pr_info("canaryd: signal %u: exiting; the datapath keeps "
						"running with its last weights\n", si.ssi_signo);
					rc = 0;
					goto out;
				}
			}
		}
		if (pfd[1].revents & POLLIN) {
			__u64 expirations, now = canaryd_now_ms();

			if (read(tfd, &expirations, sizeof(expirations)) > 0) {
				/* Also for what the kernel does not announce. */
				canaryd_links__check(d);
				for (i = 0; i < d->nr_ifaces; i++)
					canaryd_iface__tick(d, &d->iface[i], now,
							    (now - last_tick) / 1000.0);
				last_tick = now;
				notify_status(d, false);
				metrics_retry(d, &msrv, now);
			}
		}
		if ((pfd[3].revents & POLLIN) && canaryd_netlink__read(d)) {
			canaryd_links__check(d);
			notify_status(d, false);
		}
		if (lt >= 0 && !canaryd_links__timeout_ms(d))
			canaryd_links__check(d);
		canaryd_control__run(d, pfd + 4);
		canary_webhooks__run();
		canary_metrics__run(msrv);	/* never blocks; also expires idle scrapers */
	}
out:
	sd_notify(0, "STOPPING=1");
	canary_metrics__close(msrv);
	canaryd_control__close(&d->ctl, d->config.socket);
	for (i = 0; i < d->nr_ifaces; i++) {
		canaryd_history__flush(d, &d->iface[i]);
		canaryd_iface__close(&d->iface[i]);
	}
	canaryd_netlink__close(d);
	canary_webhooks__fini();
	return rc;
}
