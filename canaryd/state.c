// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "canary_abi.h"
#include "log.h"
#include "shadow.h"
#include "state.h"


int canaryd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int canaryd_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int canaryd_write_file(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = canaryd_write_all(fd, a, alen);
	if (!err)
		err = canaryd_write_all(fd, b, blen);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", path);
	canaryd_fsync_dir(dirname(dir));
	return 0;
}

int canaryd_state__save(const char *path, const struct canaryd_persist *st)
{
	struct canaryd_state_header h = { .layout = CANARYD_STATE_LAYOUT,
					  .abi = CANARY_ABI_VERSION, .size = sizeof(*st) };
	int err;

	memcpy(h.magic, CANARYD_STATE_MAGIC, sizeof(h.magic));
	h.crc = crc32(0, (const Bytef *)st, sizeof(*st));
	err = canaryd_write_file(path, &h, sizeof(h), st, sizeof(*st));
	if (err)
		pr_warn("state file %s: cannot write: %s\n", path, strerror(-err));
	return err;
}

static bool evidence_ok(const struct judge_evidence *ev)
{
	__u32 i;

	if ((unsigned int)ev->verdict > JUDGE_TIMEOUT || ev->nr_tests > JUDGE_MAX_EVIDENCE ||
	    !memchr(ev->decision.metric, 0, sizeof(ev->decision.metric)))
		return false;
	for (i = 0; i < ev->nr_tests; i++)
		if (!memchr(ev->tests[i].metric, 0, sizeof(ev->tests[i].metric)))
			return false;
	return true;
}

/*
 * The CRC catches corruption, not a file from a buggy writer: check every
 * field that the engine and judge use as an index, a count or an enum, and
 * the plan and judge configuration as rollout__init() would, so a loaded
 * rollout can be driven and shown without reading out of bounds.
 */
static bool rollout_ok(const struct rollout *r)
{
	static struct rollout scratch;
	const struct judge_state *j = &r->judge;
	int m;

	if ((unsigned int)r->phase > ROLLOUT_FAILED || r->step >= r->plan.nr_steps ||
	    r->share_bp > CANARY_BP_MAX || (unsigned int)r->last_verdict > JUDGE_TIMEOUT ||
	    !memchr(r->reason, 0, sizeof(r->reason)) || !evidence_ok(&r->last_ev) ||
	    (unsigned int)j->latched > JUDGE_TIMEOUT || !evidence_ok(&j->latched_ev) ||
	    j->srm_nr > JUDGE_BINS || (unsigned int)r->gate > ROLLOUT_GATE_PROMOTE ||
	    (unsigned int)r->plan.on_gate_failure > ROLLOUT_GATE_ROLLBACK ||
	    r->shadow_decision > SHADOW_WEAK || r->paired_decision > SHADOW_WEAK ||
	    !memchr(r->paired_detail, 0, sizeof(r->paired_detail)) ||
	    (r->plan.nr_entities && r->ent >= r->plan.nr_entities) || r->ent >= ROLLOUT_MAX_ENTITIES)
		return false;
	for (m = 0; m < ROLLOUT_MAX_ENTITIES; m++)
		if (r->ent_state[m] > ENTITY_HARMFUL ||
		    (unsigned int)r->ent_ev[m].verdict > ENTITY_V_HARMFUL ||
		    (unsigned int)r->ent_ev[m].dir > JUDGE_DIR_NONE ||
		    !memchr(r->ent_ev[m].by, 0, sizeof(r->ent_ev[m].by)))
			return false;
	for (m = 0; m < JUDGE_NR_METRICS; m++)
		if (j->m[m].bins.nr > JUDGE_BINS)
			return false;
	/* Rising shares ending at 100 %, a judge configuration in range. */
	return !rollout__init(&scratch, &r->plan, &j->cfg);
}

static bool rule_ok(const struct canary_pin_rule *p)
{
	return (p->family == AF_INET || p->family == AF_INET6) && p->slot < CANARY_MAX_SLOTS &&
	       p->dir < CANARY_PIN_DIRS && p->prefixlen <= (p->family == AF_INET ? 32U : 128U);
}

static bool pins_ok(const struct canaryd_persist *st)
{
	__u32 i, n = st->ro.plan.nr_entities;

	if (st->nr_pins > CANARY_PIN_LIST_MAX || st->ro.nr_pins > st->nr_pins ||
	    n > ROLLOUT_MAX_ENTITIES)
		return false;
	for (i = 0; i < st->nr_pins; i++)
		if (!rule_ok(&st->pins[i]))
			return false;
	/* The entities' rules: rising bounds within the array. */
	for (i = 0; i < n; i++)
		if (st->ent_first[i] > st->ent_first[i + 1])
			return false;
	if (n && st->ent_first[n] > CANARY_PIN_LIST_MAX)
		return false;
	for (i = 0; n && i < st->ent_first[n]; i++)
		if (!rule_ok(&st->ent_rules[i]))
			return false;
	return true;
}

static bool version_id_ok(const struct canaryd_version_id *v)
{
	return memchr(v->obj, 0, sizeof(v->obj)) && memchr(v->prog, 0, sizeof(v->prog)) &&
	       memchr(v->sha256, 0, sizeof(v->sha256));
}

int canaryd_state__load(const char *path, struct canaryd_persist *st, char *why, size_t len)
{
	struct canaryd_state_header h;
	size_t size = sizeof(*st);
	ssize_t n;
	char extra;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, &h, sizeof(h));
	if (n != (ssize_t)sizeof(h) || memcmp(h.magic, CANARYD_STATE_MAGIC, sizeof(h.magic))) {
		snprintf(why, len, "not a canaryd state file (bad header)");
		err = -EBADMSG;
	} else if (h.layout != CANARYD_STATE_LAYOUT || h.abi != CANARY_ABI_VERSION ||
		   h.size != sizeof(*st)) {
		snprintf(why, len, "written by another canaryd version (layout %u, ABI %u, %llu bytes)",
			 h.layout, h.abi, (unsigned long long)h.size);
		err = -EBADMSG;
	}
	if (err) {
		close(fd);
		return err;
	}
	memset(st, 0, sizeof(*st));
	if (read(fd, st, size) != (ssize_t)size) {
		snprintf(why, len, "truncated");
		err = -EBADMSG;
	} else if (read(fd, &extra, 1) != 0) {
		snprintf(why, len, "trailing bytes");
		err = -EBADMSG;
	} else if (crc32(0, (const Bytef *)st, size) != h.crc) {
		snprintf(why, len, "checksum mismatch (corrupt)");
		err = -EBADMSG;
	} else if (!memchr(st->cand_obj, 0, sizeof(st->cand_obj)) ||
		   !memchr(st->cand_prog, 0, sizeof(st->cand_prog)) ||
		   !memchr(st->cand_sha256, 0, sizeof(st->cand_sha256)) ||
		   !version_id_ok(&st->stable) || !version_id_ok(&st->previous) ||
		   !rollout_ok(&st->ro) || !pins_ok(st)) {
		snprintf(why, len, "fields out of range");
		err = -EBADMSG;
	}
	close(fd);
	return err;
}
