// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket's transport (canaryd/control_socket.c) on a real UNIX
 * socket in a temporary directory, no kernel datapath, no privileges: a
 * request split over many reads is answered; a silent client is told at
 * its deadline and closed; a client that never reads a reply larger than
 * its socket buffer does not hold up the next one and is closed at its
 * deadline; the 17th client is refused in one line; a second lock holder
 * is refused and leaves the socket alone; close removes the socket.
 * Deadlines are moved into the past rather than waited for.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "canaryd.h"
#include "proto.h"
#include "request.h"

static struct canaryd d;
static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	memset(&d, 0, sizeof(d));
	d.metrics_state = "off";
	snprintf(dir, sizeof(dir), "/tmp/test_control.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	assert_int_equal(canaryd_control__open(&d.ctl, path), 0);
	return 0;
}

static int teardown(void **state)
{
	char lock[160];

	(void)state;
	canaryd_control__close(&d.ctl, path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	unlink(lock);
	rmdir(dir);
	return 0;
}

/* One round of canaryd's loop, for the control socket alone. */
static void loop_once(void)
{
	struct pollfd pfd[1 + CANARYD_CTL_CLIENTS];
	int timeout = 50;

	canaryd_control__pollfds(&d.ctl, pfd, &timeout);
	assert_true(poll(pfd, 1 + CANARYD_CTL_CLIENTS, timeout) >= 0);
	canaryd_control__run(&d, pfd);
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int nr_clients(void)
{
	int i, n = 0;

	for (i = 0; i < CANARYD_CTL_CLIENTS; i++)
		n += d.ctl.c[i].fd >= 0;
	return n;
}

/* Everything the client can read now, until canaryd closes it (or 1 s). */
static size_t read_all(int fd, char *buf, size_t len, bool *closed)
{
	struct timeval tv = { .tv_sec = 1 };
	size_t got = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*closed = false;
	while (got + 1 < len) {
		n = recv(fd, buf + got, len - got - 1, 0);
		if (n <= 0) {
			*closed = n == 0;
			break;
		}
		got += n;
	}
	buf[got] = '\0';
	return got;
}

static void expire_all(void)
{
	int i;

	for (i = 0; i < CANARYD_CTL_CLIENTS; i++)
		if (d.ctl.c[i].fd >= 0)
			d.ctl.c[i].deadline_ms = canaryd_now_ms() - 1;
}

static void test_split_request(void **state)
{
	const char *req = "{\"cmd\":\"status\"}\n";
	char buf[4096];
	bool closed;
	size_t i;
	int fd = client();

	(void)state;
	for (i = 0; req[i]; i++) {
		assert_int_equal(send(fd, req + i, 1, 0), 1);
		loop_once();
		if (req[i + 1])
			assert_int_equal(nr_clients(), 1);	/* held, waiting for the rest */
	}
	loop_once();
	read_all(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, "\"ok\":true"));
	assert_non_null(strstr(buf, "\"metrics\":\"off\""));
	assert_int_equal(buf[strlen(buf) - 1], '\n');
	assert_int_equal(nr_clients(), 0);
	close(fd);
}

static void test_silent_deadline(void **state)
{
	char buf[4096];
	bool closed;
	int fd = client();

	(void)state;
	loop_once();
	loop_once();
	assert_int_equal(nr_clients(), 1);
	assert_true(d.ctl.c[0].deadline_ms > canaryd_now_ms() + CANARYD_CTL_DEADLINE_MS - 1000);
	expire_all();
	loop_once();
	assert_int_equal(nr_clients(), 0);
	read_all(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, "\"ok\":false"));
	assert_non_null(strstr(buf, "within " CANARYD_CTL_DEADLINE_S " s"));
	assert_non_null(strstr(buf, "\"errno\":110"));
	close(fd);
}

/* A reply larger than what the socket takes, to a client that never reads it. */
static void test_never_reads(void **state)
{
	static char buf[256 * 1024];
	int one = 1, fd, fd2, i;
	size_t got;
	bool closed;

	(void)state;
	/* Sixteen unmanaged interfaces with long errors: a status reply of some 10 KB. */
	d.nr_ifaces = CANARY_MAX_IFACES;
	for (i = 0; i < d.nr_ifaces; i++) {
		snprintf(d.iface[i].cfg.name, sizeof(d.iface[i].cfg.name), "if%d", i);
		memset(d.iface[i].error, 'x', sizeof(d.iface[i].error) - 1);
		memset(d.iface[i].st.stable.obj, 'y', sizeof(d.iface[i].st.stable.obj) - 1);
		d.iface[i].cand_fd = -1;
	}
	fd = client();
	loop_once();
	assert_int_equal(nr_clients(), 1);
	/* The smallest send buffer the kernel allows on canaryd's side. */
	setsockopt(d.ctl.c[0].fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	assert_int_equal(send(fd, "{\"cmd\":\"status\"}\n", 17, 0), 17);
	loop_once();
	assert_int_equal(nr_clients(), 1);
	assert_true(d.ctl.c[0].replying);
	assert_true(d.ctl.c[0].off < d.ctl.c[0].len);	/* the rest waits for POLLOUT */

	/* The next client is served meanwhile. */
	fd2 = client();
	assert_int_equal(send(fd2, "{\"cmd\":\"status\",\"iface\":\"if3\"}\n", 31, 0), 31);
	loop_once();
	loop_once();
	got = read_all(fd2, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_true(got > 0);
	assert_non_null(strstr(buf, "\"iface\":\"if3\""));
	close(fd2);

	/* The one that never read: closed at its deadline with its reply cut. */
	expire_all();
	loop_once();
	assert_int_equal(nr_clients(), 0);
	got = read_all(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_true(got > 0 && buf[got - 1] != '\n');
	close(fd);
	d.nr_ifaces = 0;
}

static void test_too_many(void **state)
{
	int fds[CANARYD_CTL_CLIENTS + 1], i;
	char buf[4096];
	bool closed;

	(void)state;
	for (i = 0; i < CANARYD_CTL_CLIENTS; i++)
		fds[i] = client();
	loop_once();
	assert_int_equal(nr_clients(), CANARYD_CTL_CLIENTS);
	fds[i] = client();
	loop_once();
	assert_int_equal(nr_clients(), CANARYD_CTL_CLIENTS);
	read_all(fds[i], buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, CANARYD_CTL_CLIENTS_S " clients connected already"));
	assert_non_null(strstr(buf, "\"errno\":16"));
	assert_int_equal(strchr(buf, '\n') - buf, (long)strlen(buf) - 1);	/* one line */
	expire_all();
	loop_once();
	assert_int_equal(nr_clients(), 0);
	for (i = 0; i <= CANARYD_CTL_CLIENTS; i++)
		close(fds[i]);
}

static void test_lock(void **state)
{
	struct canaryd_control second;
	struct stat st;
	char buf[4096];
	bool closed;
	int fd;

	(void)state;
	assert_int_equal(canaryd_control__open(&second, path), -EBUSY);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The first one's socket still answers. */
	fd = client();
	assert_int_equal(send(fd, "{\"cmd\":\"status\"}\n", 17, 0), 17);
	loop_once();
	loop_once();
	read_all(fd, buf, sizeof(buf), &closed);
	assert_non_null(strstr(buf, "\"ok\":true"));
	close(fd);
}

static void test_close_unlinks(void **state)
{
	struct canaryd_control again;

	(void)state;
	canaryd_control__close(&d.ctl, path);
	assert_int_equal(access(path, F_OK), -1);
	/* The lock is free again: a new canaryd takes it. */
	assert_int_equal(canaryd_control__open(&again, path), 0);
	canaryd_control__close(&again, path);
	assert_int_equal(canaryd_control__open(&d.ctl, path), 0);
}

/* The pin request and start's "pin": checked by the one rule parser before any handler runs. */
static void test_pin_requests(void **state)
{
	struct canaryd_request req;
	char msg[256];

	(void)state;
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"pin\",\"iface\":\"eth0\",\"pin\":"
						"\"dst 198.18.5.0/24 -> candidate,src 2001:db8::/32 "
						"-> stable\"}", &req, msg, sizeof(msg)), 0);
	assert_int_equal(req.cmd, CANARYD_CMD_PIN);
	assert_string_equal(req.pin, "dst 198.18.5.0/24 -> candidate,src 2001:db8::/32 -> stable");
	/* "" is the empty set (--clear); a missing "pin" is an error. */
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"pin\",\"iface\":\"eth0\",\"pin\":\"\"}",
						&req, msg, sizeof(msg)), 0);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"pin\",\"iface\":\"eth0\"}", &req, msg,
						sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "\"pin\""));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"pin\",\"iface\":\"eth0\",\"pin\":"
						"\"dst 198.18.5.0/33 -> candidate\"}", &req, msg,
						sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "pin: bad pin rule 'dst 198.18.5.0/33 -> candidate' (src|dst "
				 "PREFIX -> candidate|stable)");
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\",\"pin\":\"src 198.18.7.0/24 -> "
						"canary\"}", &req, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "start: bad pin rule"));
}

/* start's "shadow_ms": absent is the config's (~0), 0 is off, 0..1 h. */
static void test_shadow_request(void **state)
{
	struct canaryd_request req;
	char msg[256];

	(void)state;
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\"}", &req, msg, sizeof(msg)), 0);
	assert_true(req.shadow_ms == ~0ULL);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\",\"shadow_ms\":10000}", &req,
						msg, sizeof(msg)), 0);
	assert_int_equal(req.shadow_ms, 10000);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\",\"shadow_ms\":0}", &req, msg,
						sizeof(msg)), 0);
	assert_int_equal(req.shadow_ms, 0);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\",\"shadow_ms\":3600001}", &req,
						msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "shadow_ms"));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"start\",\"iface\":\"eth0\","
						"\"candidate\":\"/v2.o\",\"shadow_ms\":\"10s\"}",
						&req, msg, sizeof(msg)), -EINVAL);
}

/* capture: count 1..100000 required, rate and snap in range, version by name; reads need the id. */
static void test_capture_requests(void **state)
{
	struct canaryd_request req;
	char msg[256];

	(void)state;
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\","
						"\"count\":2000,\"version\":\"candidate\"}", &req,
						msg, sizeof(msg)), 0);
	assert_int_equal(req.count, 2000);
	assert_int_equal(req.version, CANARYD_CAPTURE_CANDIDATE);
	assert_int_equal(req.rate, CANARY_CAPTURE_RATE_DEFAULT);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\"}",
						&req, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "count"));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\","
						"\"count\":0}", &req, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\","
						"\"count\":100001}", &req, msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\","
						"\"count\":10,\"snap\":13}", &req, msg,
						sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "snap"));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture\",\"iface\":\"eth0\","
						"\"count\":10,\"version\":\"both\"}", &req, msg,
						sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "version"));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture-read\",\"iface\":\"eth0\"}",
						&req, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "id"));
	assert_int_equal(canaryd_request__parse("{\"cmd\":\"capture-read\",\"iface\":\"eth0\","
						"\"id\":7}", &req, msg, sizeof(msg)), 0);
	assert_int_equal(req.id, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_unlinks, setup, teardown),
		cmocka_unit_test(test_pin_requests),
		cmocka_unit_test(test_shadow_request),
		cmocka_unit_test(test_capture_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
