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

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t;
	char buf[4096];
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: notify_listen NOTIFY_PATH CONTROL_SOCKET TIMEOUT_S\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
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
		if (t.tv_sec - t0.tv_sec >= atoi(argv[3])) {
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
			printf("%s control=%s\n", buf, control_answers(argv[2]) ? "ok" : "down");
		else
			printf("%s\n", buf);
		if (strstr(buf, "STOPPING=1"))
			return 0;
	}
}
