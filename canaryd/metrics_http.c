// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics endpoint (metrics.h): libmicrohttpd in "external epoll" mode.
 * MHD keeps its listening socket and connections in an epoll set of its own;
 * canaryd polls that one descriptor with its others and calls MHD_run(),
 * which does whatever is ready without blocking. The page is rendered in
 * the loop, between two counter reads, from the same state "status" reads.
 *
 * The listening socket is made here, not by MHD, so that a busy port or a
 * missing address is reported with its errno (the caller logs it, once:
 * canaryd tries again every 10 s) and the address named.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

/* Limits that keep a slow, stuck or hostile scraper cheap. */
#define HTTP_MAX_CONNECTIONS 16
#define HTTP_IDLE_TIMEOUT_S 5
#define HTTP_CONNECTION_MEMORY (32 * 1024)

struct canary_metrics_server {
	struct MHD_Daemon *mhd;
	int listen_fd;
	int epoll_fd;
	canary_metrics_render_fn render;
	void *ctx;
	char addr[64];
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct canary_metrics_server *srv = cls;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pr_debug("metrics %s: %s\n", srv->addr, msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code,
				  const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(conn, code, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct canary_metrics_server *srv = cls;
	char *body;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
	if (*upload_data_size)
		return MHD_NO;	/* a GET with a body: drop the connection */
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, "canaryd: Prometheus metrics at /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found; metrics are at /metrics\n");
	if (srv->render(srv->ctx, &body, &len)) {
		pr_warn("metrics %s: cannot render the page: out of memory\n", srv->addr);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(conn, MHD_HTTP_OK, CANARY_METRICS_CONTENT_TYPE, body, len);
}

static int listen_on(const char *addr, const struct sockaddr_storage *sa)
{
	socklen_t salen = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);
	int fd, one = 1, err;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_debug("metrics %s: cannot create a socket: %s\n", addr, strerror(-err));
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, salen) || listen(fd, HTTP_MAX_CONNECTIONS)) {
		err = -errno;
		pr_debug("metrics %s: cannot listen: %s\n", addr, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

struct canary_metrics_server *canary_metrics__listen(const char *addr,
						     canary_metrics_render_fn render, void *ctx)
{
	struct canary_metrics_server *srv;
	struct sockaddr_storage sa;
	const union MHD_DaemonInfo *info;
	bool off;
	int err;

	if (canary_metrics__parse_addr(addr, &sa, &off) || off) {
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	snprintf(srv->addr, sizeof(srv->addr), "%s", addr);
	srv->render = render;
	srv->ctx = ctx;
	srv->listen_fd = listen_on(addr, &sa);
	if (srv->listen_fd < 0) {
		err = srv->listen_fd;
		goto err_free;
	}
	srv->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, srv,
		MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_END);
	if (!srv->mhd) {
		err = -EIO;
		pr_debug("metrics %s: libmicrohttpd cannot start\n", addr);
		goto err_close;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		err = -EIO;
		pr_warn("metrics %s: libmicrohttpd has no epoll descriptor\n", addr);
		goto err_stop;
	}
	srv->epoll_fd = info->epoll_fd;
	return srv;

err_stop:
	canary_metrics__close(srv);
	errno = -err;
	return NULL;
err_close:
	close(srv->listen_fd);
err_free:
	free(srv);
	errno = -err;
	return NULL;
}

int canary_metrics__fd(const struct canary_metrics_server *srv)
{
	return srv ? srv->epoll_fd : -1;
}

int canary_metrics__timeout_ms(const struct canary_metrics_server *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!srv || MHD_get_timeout(srv->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}

void canary_metrics__run(struct canary_metrics_server *srv)
{
	if (srv)
		MHD_run(srv->mhd);
}

void canary_metrics__close(struct canary_metrics_server *srv)
{
	MHD_socket fd;

	if (!srv)
		return;
	/* Take the listening socket back first, so that it is closed exactly once. */
	fd = MHD_quiesce_daemon(srv->mhd);
	MHD_stop_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	free(srv);
}
