// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kept versions (canaryd.h): every version that becomes stable is copied to
 * STATE_DIR/versions/IFACE/SHA256.bpf.o (content-addressed; its program name
 * is in the state file), so a datapath created anew (a reboot emptied the
 * pins and detached XDP) loads the last promoted stable, not the config's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canaryd.h"
#include "log.h"
#include "version.h"

#define KEEP_SUFFIX ".bpf.o"

static bool sha_ok(const char *sha)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return false;
	return sha[64] == '\0';
}

int canaryd_keep__path(const struct iface *ifc, const char *sha256, char *buf, size_t len)
{
	if (!sha256 || !sha_ok(sha256))
		return -EINVAL;
	if (snprintf(buf, len, "%s/%s" KEEP_SUFFIX, ifc->keep_dir, sha256) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		int err;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		err = canaryd_write_all(out, buf, n);
		if (err)
			return err;
	}
	return 0;
}

int canaryd_keep__verify(const struct iface *ifc, const char *sha256, char *path, size_t len)
{
	char got[65];
	int err = canaryd_keep__path(ifc, sha256, path, len);

	if (err)
		return err;
	err = canary_sha256_file(path, got);
	if (err)
		return err;
	return strcmp(got, sha256) ? -EBADMSG : 0;
}

int canaryd_keep__store(struct iface *ifc, const char *obj, const char *sha256)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], got[65];
	int in, out, err;

	if (!canaryd_keep__verify(ifc, sha256, path, sizeof(path)))
		return 0;	/* kept already: the name is the content */
	if (!sha256 || !sha_ok(sha256))
		return -EINVAL;
	if (mkdir(ifc->keep_dir, 0700) && errno != EEXIST) {
		/* STATE_DIR/versions first, then the interface's directory. */
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", ifc->keep_dir);
		slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		if ((mkdir(parent, 0700) && errno != EEXIST) ||
		    (mkdir(ifc->keep_dir, 0700) && errno != EEXIST)) {
			err = -errno;
			goto fail;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	in = open(obj, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		err = -errno;
		goto fail;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		goto fail;
	}
	err = copy_fd(in, out);
	if (!err && fsync(out))
		err = -errno;
	close(in);
	close(out);
	/* The copy must be the bytes the rollout named, not a file changed since. */
	if (!err)
		err = canary_sha256_file(tmp, got);
	if (!err && strcmp(got, sha256))
		err = -ESTALE;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		goto fail;
	}
	canaryd_fsync_dir(ifc->keep_dir);
	return 0;
fail:
	pr_warn("iface %s: cannot keep a copy of %s in %s: %s%s\n", ifc->cfg.name, obj,
		ifc->keep_dir, strerror(-err),
		err == -ESTALE ? " (the file changed since the rollout started)" : "");
	return err;
}

/* Remove the kept copies that are neither stable, previous nor a live candidate. */
void canaryd_keep__prune(struct iface *ifc)
{
	const char *keep[3] = { ifc->st.stable.sha256, ifc->st.previous.sha256,
				ifc->has_rollout && !rollout__done(&ifc->st.ro) ?
				ifc->st.cand_sha256 : "" };
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (!ifc->st.stable.sha256[0])
		return;	/* nothing says what runs: keep everything */
	dir = opendir(ifc->keep_dir);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name), i;
		bool kept = false;

		if (n != 64 + strlen(KEEP_SUFFIX) || strcmp(e->d_name + 64, KEEP_SUFFIX))
			continue;	/* not ours (a .tmp of a store cut short is left too) */
		for (i = 0; i < 3; i++)
			kept |= keep[i][0] && !strncmp(e->d_name, keep[i], 64);
		if (kept)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", ifc->keep_dir, e->d_name) >=
		    (int)sizeof(path))
			continue;
		if (!unlink(path))
			pr_info("iface %s: kept copy %s removed (neither stable nor previous)\n",
				ifc->cfg.name, path);
	}
	closedir(dir);
}

/*
 * A datapath created anew: which stable? The state file's, when it names a
 * version other than the configured one and its kept copy is intact: L then
 * loads that copy and *USE_STATE is set (the state file is resumed). Else
 * the configured stable, and the state file is not used.
 */
void canaryd_keep__choose_stable(struct iface *ifc, struct canaryd_load *l, char *path,
				 size_t len, bool *use_state)
{
	static struct canaryd_persist st;
	char why[128], cfg_sha[65];
	int err;

	*use_state = false;
	err = canaryd_state__load(ifc->state_path, &st, why, sizeof(why));
	if (err)
		return;	/* none, or unreadable: the old rule, the configured stable */
	if (!st.stable.sha256[0] ||
	    (!canary_sha256_file(ifc->cfg.stable_obj, cfg_sha) &&
	     !strcmp(cfg_sha, st.stable.sha256)))
		return;	/* the configured stable is the running one */
	err = canaryd_keep__verify(ifc, st.stable.sha256, path, len);
	if (err) {
		pr_warn("iface %s: state file %s names stable %s (sha256 %s) but its kept copy "
			"%s is %s; loading the config's stable %s instead\n", ifc->cfg.name,
			ifc->state_path, st.stable.obj, st.stable.sha256, path[0] ? path : "?",
			err == -EBADMSG ? "corrupt (hash mismatch)" : strerror(-err),
			ifc->cfg.stable_obj);
		return;
	}
	pr_info("iface %s: loading promoted stable %s (sha256 %s) from state_dir: the config's "
		"stable %s is only the first version\n", ifc->cfg.name, st.stable.obj,
		st.stable.sha256, ifc->cfg.stable_obj);
	l->obj = path;
	l->prog = st.stable.prog;
	*use_state = true;
}
