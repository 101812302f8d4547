// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE	/* accept4 */
/*
 * The control socket (proto.h): its lock, its listening socket and its
 * clients, all non-blocking and in canaryd's poll set, so that no client
 * can hold the loop. A client has CANARYD_CTL_DEADLINE_MS for the whole
 * exchange: its request line, then reading the reply. A slow or silent one
 * is told so in one line at the deadline and closed; one that never reads
 * its reply is closed. At most CANARYD_CTL_CLIENTS at once: one more is
 * told to try again and closed.
 *
 * The lock: SOCKET.lock, flock()ed for canaryd's lifetime before the
 * socket is touched, with the holder's pid in it. A second canaryd on the
 * same path stops there: it neither unlinks nor rebinds the first one's
 * socket, and touches no interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "canaryd.h"
#include "log.h"
#include "proto.h"

/* A one-line error reply, best effort: the client may not read it. */
static void tell(int fd, int err, const char *msg)
{
	json_t *o = json_pack("{s:b, s:s, s:i}", CANARY_K_OK, 0, CANARY_K_ERROR, msg,
			      CANARY_K_ERRNO, err);
	char *out = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (out) {
		size_t len = strlen(out);

		out[len] = '\n';	/* json_dumps() leaves no room: write the NUL as \n */
		if (send(fd, out, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_debug("control: a client went away\n");
		free(out);
	}
	json_decref(o);
}

static void drop(struct canaryd_ctl_client *c)
{
	close(c->fd);
	free(c->buf);
	*c = (struct canaryd_ctl_client){ .fd = -1 };
}

/* The reply is written as far as the client takes it; 1 when it is all out. */
static int flush(struct canaryd_ctl_client *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		c->off += n;
	}
	return 1;
}

/* The request is complete: answer it, the reply replacing the request in BUF. */
static void answer(struct canaryd *d, struct canaryd_ctl_client *c, char *nl)
{
	json_t *reply;
	char *out;

	*nl = '\0';
	canaryd_history__peer(d, c->fd);	/* who asked, for the history */
	reply = canaryd_control__reply(d, c->buf);
	d->who[0] = '\0';
	out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
	c->replying = true;
	if (!out) {
		drop(c);
		return;
	}
	c->len = strlen(out);
	out[c->len++] = '\n';	/* over the NUL; the length says where it ends */
	c->buf = out;
	c->off = 0;
	if (flush(c))
		drop(c);	/* all written (the usual case), or the client went away */
}

static void on_readable(struct canaryd *d, struct canaryd_ctl_client *c)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->len + 4096 > c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *nb;

			if (c->cap >= CANARY_PROTO_MAX_LINE) {
				tell(c->fd, E2BIG, "control: request line longer than 1 MiB; closed");
				drop(c);
				return;
			}
			nb = realloc(c->buf, cap);
			if (!nb) {
				drop(c);
				return;
			}
			c->buf = nb;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(c);	/* gone before a whole request: nothing to answer */
			return;
		}
		c->len += n;
		c->buf[c->len] = '\0';
		nl = memchr(c->buf + c->len - n, '\n', n);
		if (nl) {
			answer(d, c, nl);
			return;
		}
	}
}

static void on_connect(struct canaryd_control *ctl, __u64 now)
{
	int fd, i;

	while ((fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		for (i = 0; i < CANARYD_CTL_CLIENTS && ctl->c[i].fd >= 0; i++)
			;
		if (i == CANARYD_CTL_CLIENTS) {
			tell(fd, EBUSY, "control: " CANARYD_CTL_CLIENTS_S " clients connected "
					"already; try again in a few seconds");
			close(fd);
			continue;
		}
		ctl->c[i] = (struct canaryd_ctl_client){
			.fd = fd, .deadline_ms = now + CANARYD_CTL_DEADLINE_MS };
	}
}

int canaryd_control__pollfds(struct canaryd_control *ctl, struct pollfd *pfd, int *timeout)
{
	__u64 now = canaryd_now_ms();
	int i;

	pfd[0] = (struct pollfd){ .fd = ctl->lfd, .events = POLLIN };
	for (i = 0; i < CANARYD_CTL_CLIENTS; i++) {
		const struct canaryd_ctl_client *c = &ctl->c[i];
		int left;

		pfd[1 + i] = (struct pollfd){ .fd = c->fd, .events = c->replying ? POLLOUT : POLLIN };
		if (c->fd < 0)
			continue;
		left = c->deadline_ms > now ? (int)(c->deadline_ms - now) : 0;
		if (*timeout < 0 || left < *timeout)
			*timeout = left;
	}
	return 1 + CANARYD_CTL_CLIENTS;
}

void canaryd_control__run(struct canaryd *d, const struct pollfd *pfd)
{
	struct canaryd_control *ctl = &d->ctl;
	__u64 now = canaryd_now_ms();
	int i;

	for (i = 0; i < CANARYD_CTL_CLIENTS; i++) {
		struct canaryd_ctl_client *c = &ctl->c[i];
		short ev = pfd[1 + i].revents;

		if (c->fd < 0 || pfd[1 + i].fd != c->fd)
			continue;
		if (c->replying && (ev & (POLLOUT | POLLERR | POLLHUP)) && flush(c))
			drop(c);
		else if (!c->replying && (ev & (POLLIN | POLLERR | POLLHUP)))
			on_readable(d, c);
	}
	for (i = 0; i < CANARYD_CTL_CLIENTS; i++) {
		struct canaryd_ctl_client *c = &ctl->c[i];

		if (c->fd < 0 || now < c->deadline_ms)
			continue;
		if (!c->replying)
			tell(c->fd, ETIMEDOUT, "control: no complete request line within "
					       CANARYD_CTL_DEADLINE_S " s; closed");
		pr_debug("control: a client %s within %s s; closed\n",
			 c->replying ? "did not read its reply" : "sent no complete request",
			 CANARYD_CTL_DEADLINE_S);
		drop(c);
	}
	if (pfd[0].revents & POLLIN)
		on_connect(ctl, now);
}

/* The holder's pid as it wrote it in the lock file, 0 if unknown. */
static long lock_holder(int fd)
{
	char buf[32] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return strtol(buf, NULL, 10);
}

static int take_lock(struct canaryd_control *ctl, const char *path)
{
	char pid[32];
	long holder;
	int fd, err, n;

	if (snprintf(ctl->lock_path, sizeof(ctl->lock_path), "%s.lock", path) >=
	    (int)sizeof(ctl->lock_path)) {
		pr_warn("control socket %s: path too long; nothing was changed\n", path);
		return -ENAMETOOLONG;
	}
	fd = open(ctl->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		pr_warn("control socket %s: cannot create its lock %s: %s; does the directory "
			"exist? nothing was changed\n", path, ctl->lock_path, strerror(-err));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		holder = lock_holder(fd);
		if (holder > 0)
			snprintf(pid, sizeof(pid), " (pid %ld)", holder);
		else
			pid[0] = '\0';
		pr_warn("control socket %s: another canaryd%s holds its lock %s; give each "
			"canaryd its own [daemon] socket; nothing was changed\n", path, pid,
			ctl->lock_path);
		close(fd);
		return err;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, n, 0) != n)
		pr_debug("control socket %s: cannot write the pid into %s\n", path,
			 ctl->lock_path);
	ctl->lock_fd = fd;
	return 0;
}

int canaryd_control__open(struct canaryd_control *ctl, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, err, i;

	ctl->lfd = ctl->lock_fd = -1;
	for (i = 0; i < CANARYD_CTL_CLIENTS; i++)
		ctl->c[i] = (struct canaryd_ctl_client){ .fd = -1 };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_warn("control socket %s: path too long (at most %zu bytes); nothing was "
			"changed\n", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	err = take_lock(ctl, path);
	if (err)
		return err;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		goto err_unlock;
	}
	unlink(path);	/* a dead canaryd's: the lock says no live one has it */
	old = umask(0177);	/* mode 0600 from the start: no window for others */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err || listen(fd, 16)) {
		err = -errno;
		close(fd);
		goto err_unlock;
	}
	ctl->lfd = fd;
	return 0;

err_unlock:
	pr_warn("control socket %s: cannot listen: %s; nothing was changed\n", path,
		strerror(-err));
	close(ctl->lock_fd);
	ctl->lock_fd = -1;
	return err;
}

void canaryd_control__close(struct canaryd_control *ctl, const char *path)
{
	int i;

	for (i = 0; i < CANARYD_CTL_CLIENTS; i++)
		if (ctl->c[i].fd >= 0)
			drop(&ctl->c[i]);
	if (ctl->lfd < 0)
		return;
	close(ctl->lfd);
	unlink(path);	/* ours: we hold the lock */
	ctl->lfd = -1;
	close(ctl->lock_fd);	/* the lock file stays: unlinking it would race a newcomer */
	ctl->lock_fd = -1;
}
