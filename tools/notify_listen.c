// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * notify_listen: play systemd's part of the sd_notify protocol for a test,
 * without systemd.
 *
 *   notify_listen NOTIFY_PATH CONTROL_SOCKET TIMEOUT_S
 *
 * Binds a datagram socket at NOTIFY_PATH (point NOTIFY_SOCKET at it), prints
 * "bound" and then one line per datagram, its assignments joined by spaces.
 * On a datagram with READY=1 it at once asks canaryd's CONTROL_SOCKET for
 * {"cmd":"status"} and prints "control=ok" if an {"ok":true...} reply came
 * back, else "control=down": readiness must mean the socket answers. Exits
 * after STOPPING=1 (0) or TIMEOUT_S seconds without one (1).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "params.h"

static int control_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *req = "{\"cmd\":\"status\"}\n";
	struct timeval tv = { .tv_sec = 5 };
	char buf[256] = "";
	ssize_t n;
	int fd, ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	ok = n > 0 && strstr(buf, "\"ok\":true") != NULL;
	close(fd);
	return ok;
}

struct opts {
	bool help;
};

static const struct canary_opt notify_listen_opts[] = {
	CANARY_OPTION(struct opts, "help", 'h', NULL, help, "this text"),
	{ 0 },
};

static void usage(FILE *f)
{
	fputs("usage: notify_listen NOTIFY_PATH CONTROL_SOCKET TIMEOUT_S\n", f);
	canary_opts__print(f, notify_listen_opts);
	fputs("Prints \"bound\", then one line per datagram; exits 0 after STOPPING=1,\n"
	      "1 after TIMEOUT_S seconds without it, 2 on a usage or socket error.\n", f);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *pos[3], *notify_path, *control_path;
	struct timespec t0, t;
	struct opts o = {};
	char buf[4096], *end;
	long timeout;
	int fd, err;

	err = canary_opts__parse_tool_pos(argc, argv, "notify_listen", notify_listen_opts, &o,
					  &o.help, NULL, usage, pos, 3, 3, NULL);
	if (err)
		return err > 0 ? 0 : 2;
	notify_path = pos[0];
	control_path = pos[1];
	timeout = strtol(pos[2], &end, 10);
	if (end == pos[2] || *end || timeout <= 0) {
		fprintf(stderr, "notify_listen: TIMEOUT_S '%s': expected whole seconds > 0\n", pos[2]);
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	unlink(notify_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("notify_listen: bind");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bound\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *c;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= timeout) {
			printf("timeout\n");
			return 1;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (c = buf; *c; c++)
			if (*c == '\n')
				*c = ' ';
		if (strstr(buf, "READY=1"))
			printf("%s control=%s\n", buf, control_answers(control_path) ? "ok" : "down");
		else
			printf("%s\n", buf);
		if (strstr(buf, "STOPPING=1"))
			return 0;
	}
}
