// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE	/* pipe2 */
/*
 * Loading a version for an interface (canaryd.h): load it with the
 * interface's sharing rules and globals, pin its maps under
 * PIN_ROOT/IFACE/versions/ID/maps/NAME (ID: the kernel's program id), fill
 * copy_maps from stable's, run the prepare command; only then may traffic
 * reach it. Any failure leaves nothing behind: no pin, no map dir.
 *
 * The prepare command runs synchronously (canaryd's loop waits for it,
 * bounded by prepare_timeout); it is killed with its process group when the
 * time is up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canaryd.h"
#include "log.h"
#include "version.h"

extern char **environ;

int canaryd_prepare__run(const char *cmd, __u64 timeout_ms, char *const *vars, char *out,
			 size_t outlen)
{
	__u64 deadline = canaryd_now_ms() + timeout_ms;
	size_t used = 0, nenv = 0, nvars = 0, i;
	int pfd[2], status = 0, err = 0;
	bool exited = false, eof = false;
	char **envp;
	pid_t pid;

	if (outlen)
		out[0] = '\0';
	while (environ[nenv])
		nenv++;
	while (vars[nvars])
		nvars++;
	envp = calloc(nenv + nvars + 1, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (i = 0; i < nvars; i++)
		envp[i] = vars[i];
	for (i = 0; i < nenv; i++)
		if (strncmp(environ[i], "CANARY_", 7))
			envp[nvars++] = environ[i];
	if (pipe2(pfd, O_CLOEXEC)) {
		err = -errno;
		free(envp);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		free(envp);
		return err;
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none;

		/* The command's own signals: none blocked, SIGPIPE and SIGCHLD as default. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		setpgid(0, 0);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execve("/bin/sh", (char *const[]){ "sh", "-c", (char *)cmd, NULL }, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	free(envp);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	while (!exited) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		__u64 now = canaryd_now_ms();
		char buf[4096];
		ssize_t n = -1;

		if (now >= deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			err = -ETIMEDOUT;
			break;
		}
		if (!eof)
			poll(&p, 1, deadline - now < 50 ? (int)(deadline - now) : 50);
		else
			usleep(10000);
		while (!eof && (n = read(pfd[0], buf, sizeof(buf))) != 0) {
			if (n < 0) {
				eof = errno != EAGAIN && errno != EINTR;
				break;
			}
			/* Bounded: the first OUTLEN - 1 bytes are kept, the rest read and dropped. */
			if (used + 1 < outlen) {
				size_t k = (size_t)n < outlen - 1 - used ? (size_t)n : outlen - 1 - used;

				memcpy(out + used, buf, k);
				used += k;
				out[used] = '\0';
			}
		}
		if (n == 0)
			eof = true;
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
	}
	close(pfd[0]);
	if (err)
		return err;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static __u32 fd_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

void canaryd_iface__map_dir(const struct iface *ifc, __u32 id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/versions/%u/maps", ifc->pin_dir, id);
}

/* The map dir of the program pinned as NAME ("" when none). */
void canaryd_iface__pinned_map_dir(struct iface *ifc, const char *name, char *buf, size_t len)
{
	int fd = canaryd_iface__get_pinned(ifc, name);
	__u32 id = fd_prog_id(fd);

	if (fd >= 0)
		close(fd);
	if (id)
		canaryd_iface__map_dir(ifc, id, buf, len);
	else if (len)
		buf[0] = '\0';
}

static void remove_version_dir(const struct iface *ifc, __u32 id)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *dh;

	canaryd_iface__map_dir(ifc, id, dir, sizeof(dir));
	dh = opendir(dir);
	while (dh && (de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (dh)
		closedir(dh);
	rmdir(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* Remove the map dirs of versions pinned as none of stable, candidate, previous. */
void canaryd_iface__gc_versions(struct iface *ifc)
{
	static const char *const roles[] = { PIN_STABLE, PIN_CANDIDATE, PIN_PREVIOUS };
	char dir[PATH_MAX];
	__u32 keep[3];
	struct dirent *de;
	DIR *dh;
	size_t i;

	for (i = 0; i < 3; i++) {
		int fd = canaryd_iface__get_pinned(ifc, roles[i]);

		keep[i] = fd_prog_id(fd);
		if (fd >= 0)
			close(fd);
	}
	snprintf(dir, sizeof(dir), "%s/versions", ifc->pin_dir);
	dh = opendir(dir);
	while (dh && (de = readdir(dh))) {
		char *end;
		unsigned long id = strtoul(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || !id)
			continue;
		if (id != keep[0] && id != keep[1] && id != keep[2])
			remove_version_dir(ifc, (__u32)id);
	}
	if (dh)
		closedir(dh);
}

/*
 * A version pinned by a canaryd that did not pin its maps (before map dirs,
 * or a dir removed by hand): pin them now from the program's map ids, by
 * the kernel's map names (at most 15 characters; internal maps, whose names
 * hold a '.', left out). 0 when there was nothing to do.
 */
static int pin_adopted(struct iface *ifc, const char *role)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], i;
	int fd = canaryd_iface__get_pinned(ifc, role), err = 0;
	struct stat sb;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	canaryd_iface__map_dir(ifc, info.id, dir, sizeof(dir));
	if (!stat(dir, &sb))
		goto out;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	snprintf(path, sizeof(path), "%s/versions", ifc->pin_dir);
	mkdir(path, 0700);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0700);
	strcat(dir, "/maps");
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) && mi.name[0] && !strchr(mi.name, '.')) {
			snprintf(path, sizeof(path), "%s/%s", dir, mi.name);
			if (bpf_obj_pin(mfd, path) && errno != EEXIST)
				err = -errno;
		}
		close(mfd);
	}
	pr_info("iface %s: maps of the adopted %s pinned in %s\n", ifc->cfg.name, role, dir);
out:
	close(fd);
	return err;
}

void canaryd_iface__pin_adopted_maps(struct iface *ifc)
{
	static const char *const roles[] = { PIN_STABLE, PIN_CANDIDATE, PIN_PREVIOUS };
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (pin_adopted(ifc, roles[i]))
			pr_warn("iface %s: the maps of the adopted %s cannot all be pinned\n",
				ifc->cfg.name, roles[i]);
}

/* "a,b" + "c" -> "a,b,c" */
static void join(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s%s%s", a ? a : "", a && a[0] && b && b[0] ? "," : "", b ? b : "");
}

/* Fill the maps named in COPY from stable's of the same name. */
static int copy_from_stable(struct iface *ifc, struct bpf_object *obj, const char *copy,
			    char *msg, size_t len)
{
	char name[128], sdir[PATH_MAX], pin[PATH_MAX + 130], why[256];
	const char *s = copy;

	canaryd_iface__pinned_map_dir(ifc, PIN_STABLE, sdir, sizeof(sdir));
	while (*s) {
		size_t n = strcspn(s, ",");
		struct bpf_map *m;
		int from, err;

		if (n && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			m = bpf_object__find_map_by_name(obj, name);
			if (!m) {
				snprintf(msg, len, "copy_maps: the candidate has no map %s", name);
				return -ENOENT;
			}
			snprintf(pin, sizeof(pin), "%s/%s", sdir, name);
			from = sdir[0] ? bpf_obj_get(pin) : -1;
			if (from < 0) {
				snprintf(msg, len, "copy_maps: stable has no map %s pinned (%s)", name,
					 sdir[0] ? pin : "stable has no map dir");
				return -ENOENT;
			}
			err = canary_map__copy(from, bpf_map__fd(m), why, sizeof(why));
			close(from);
			if (err) {
				snprintf(msg, len, "copy_maps: map %s cannot be copied from stable: %s",
					 name, why);
				return err;
			}
			pr_info("iface %s: map %s copied from stable's\n", ifc->cfg.name, name);
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* Output fit for a one-line message: newlines as "; ", control characters as '?'. */
static void one_line(char *s)
{
	size_t n = strlen(s);
	char *c;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (c = s; *c; c++)
		if (*c == '\n')
			*c = '|';
		else if ((unsigned char)*c < 0x20)
			*c = ' ';
}

int canaryd_iface__prepare(struct iface *ifc, const struct canaryd_load *l, int prog_fd,
			   char *msg, size_t len)
{
	char dir[PATH_MAX], sdir[PATH_MAX], out[1024];
	char e_if[64], e_obj[CANARY_OBJ_LEN + 16], e_prog[CANARY_PROG_LEN + 16], e_id[48];
	char e_role[32], e_dir[PATH_MAX + 16], e_sdir[PATH_MAX + 24];
	char *vars[8] = { e_if, e_obj, e_prog, e_id, e_role, e_dir, e_sdir, NULL };
	__u32 id = fd_prog_id(prog_fd);
	int rc;

	if (!l->prepare || !l->prepare[0])
		return 0;
	canaryd_iface__map_dir(ifc, id, dir, sizeof(dir));
	if (l->stable)
		snprintf(sdir, sizeof(sdir), "%s", dir);
	else
		canaryd_iface__pinned_map_dir(ifc, PIN_STABLE, sdir, sizeof(sdir));
	snprintf(e_if, sizeof(e_if), "CANARY_IFACE=%s", ifc->cfg.name);
	snprintf(e_obj, sizeof(e_obj), "CANARY_OBJECT=%s", l->obj);
	snprintf(e_prog, sizeof(e_prog), "CANARY_PROGRAM=%s", l->prog_name);
	snprintf(e_id, sizeof(e_id), "CANARY_VERSION_ID=%u", id);
	snprintf(e_role, sizeof(e_role), "CANARY_ROLE=%s", l->stable ? "stable" : "candidate");
	snprintf(e_dir, sizeof(e_dir), "CANARY_MAP_DIR=%s", dir);
	snprintf(e_sdir, sizeof(e_sdir), "CANARY_STABLE_MAP_DIR=%s", sdir);
	rc = canaryd_prepare__run(l->prepare, l->timeout_ms, vars, out, sizeof(out));
	if (out[0])
		pr_info("iface %s: prepare of %s (%s, version %u) said:\n%s", ifc->cfg.name, l->obj,
			l->stable ? "stable" : "candidate", id, out);
	one_line(out);
	if (rc == 0)
		return 0;
	if (rc == -ETIMEDOUT)
		snprintf(msg, len, "%s %s: prepare command timed out after %llu ms and was killed%s%s",
			 l->stable ? "stable" : "candidate", l->obj,
			 (unsigned long long)l->timeout_ms, out[0] ? "; its output: " : "", out);
	else if (rc < 0)
		snprintf(msg, len, "%s %s: prepare command cannot be run: %s",
			 l->stable ? "stable" : "candidate", l->obj, strerror(-rc));
	else
		snprintf(msg, len, "%s %s: prepare command exited %d; not started, traffic "
			 "untouched%s%s", l->stable ? "stable" : "candidate", l->obj, rc,
			 out[0] ? "; its output: " : "", out);
	pr_warn("iface %s: %s\n", ifc->cfg.name, msg);
	return rc < 0 ? rc : -ECANCELED;
}

int canaryd_iface__load_version(struct iface *ifc, struct canaryd_load *l,
				struct bpf_object **objp, char *msg, size_t len)
{
	char private[512], dir[PATH_MAX], lmsg[512] = "";
	CANARY_VERSION_OPTS(vopts, .prog = l->prog && l->prog[0] ? l->prog : NULL,
			    .share_dir = ifc->share_dir, .private_maps = private,
			    .log_buf = l->log, .log_size = l->log_len, .set = l->set, .msg = lmsg,
			    .msg_len = sizeof(lmsg), .sha256 = l->sha256);
	const char *role = l->stable ? "stable" : "candidate";
	struct bpf_program *p;
	__u32 id;
	int fd, err;

	/* Copied maps are private: the candidate's agent changes them without touching stable. */
	join(private, sizeof(private), ifc->cfg.private_maps, l->stable ? NULL : l->copy_maps);
	fd = canary_version__load(l->obj, &vopts, objp);
	if (fd < 0) {
		if (lmsg[0])
			snprintf(msg, len, "%s: %s", role, lmsg);
		else
			snprintf(msg, len, "%s %s%s%s refused by the kernel: %s%s", role, l->obj,
				 l->prog && l->prog[0] ? ":" : "", l->prog ? l->prog : "",
				 strerror(-fd), l->log && l->log[0] ?
				 "; the verifier's log follows" : "");
		return fd;
	}
	id = fd_prog_id(fd);
	bpf_object__for_each_program(p, *objp)
		if (bpf_program__fd(p) == fd) {
			struct canary_version_target t = { .frags = ifc->frags,
							   .ifname = ifc->cfg.name, .mtu = ifc->mtu };
			char why[512];

			snprintf(l->prog_name, sizeof(l->prog_name), "%s", bpf_program__name(p));
			/* The kernel's slot check would only say EINVAL: say what to rebuild. */
			err = canary_version__check_prog(p, &t, why, sizeof(why));
			if (err) {
				snprintf(msg, len, "%s %s %s", role, l->obj, why);
				goto fail;
			}
		}
	canaryd_iface__map_dir(ifc, id, dir, sizeof(dir));
	err = canary_version__pin_maps(*objp, dir);
	if (err) {
		snprintf(msg, len, "%s %s: cannot pin its maps in %s: %s", role, l->obj, dir,
			 strerror(-err));
		goto fail;
	}
	if (!l->stable && l->copy_maps && l->copy_maps[0]) {
		err = copy_from_stable(ifc, *objp, l->copy_maps, msg, len);
		if (err)
			goto fail;
	}
	err = canaryd_iface__prepare(ifc, l, fd, msg, len);
	if (err)
		goto fail;
	return fd;
fail:
	remove_version_dir(ifc, id);
	bpf_object__close(*objp);
	*objp = NULL;
	return err;
}
