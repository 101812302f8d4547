// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The RTNETLINK socket (libmnl) subscribed to RTMGRP_LINK: every link
 * message (RTM_NEWLINK: appeared, renamed, changed, its XDP program
 * changed; RTM_DELLINK: deleted) wakes canaryd_links__check() up, which
 * looks at the configured interfaces as they are now. The messages only
 * say "look": reading the state afterwards gets a burst of messages
 * (deleted, then re-created) right in one pass, and an overrun (ENOBUFS)
 * loses nothing. The tick looks too, for changes the kernel does not
 * announce.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "canaryd.h"
#include "log.h"

struct canaryd_netlink {
	struct mnl_socket *nl;
};

int canaryd_netlink__open(struct canaryd *d)
{
	struct canaryd_netlink *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	n->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!n->nl || mnl_socket_bind(n->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		pr_warn("canaryd: RTNETLINK socket for link messages: %s; interfaces that "
			"appear or go are noticed at the next interval only\n", strerror(-err));
		if (n->nl)
			mnl_socket_close(n->nl);
		free(n);
		return err;
	}
	d->nl = n;
	return 0;
}

int canaryd_netlink__fd(const struct canaryd *d)
{
	return d->nl ? mnl_socket_get_fd(d->nl->nl) : -1;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	bool *link = data;

	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
		pr_debug("netlink: %s ifindex %d\n",
			 nlh->nlmsg_type == RTM_NEWLINK ? "RTM_NEWLINK" : "RTM_DELLINK",
			 ifm->ifi_index);
		*link = true;
	}
	return MNL_CB_OK;
}

bool canaryd_netlink__read(struct canaryd *d)
{
	char buf[8192];	/* MNL_SOCKET_BUFFER_SIZE at most */
	bool link = false;
	ssize_t n;

	if (!d->nl)
		return false;
	for (;;) {
		n = mnl_socket_recvfrom(d->nl->nl, buf, sizeof(buf));
		if (n < 0) {
			/* Messages were dropped: look at everything. */
			if (errno == ENOBUFS)
				link = true;
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;	/* EAGAIN: all read */
		}
		mnl_cb_run(buf, n, 0, 0, on_msg, &link);
	}
	return link;
}

void canaryd_netlink__close(struct canaryd *d)
{
	if (!d->nl)
		return;
	mnl_socket_close(d->nl->nl);
	free(d->nl);
	d->nl = NULL;
}
