/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow key shared by tools/flowcount.bpf.c and tools/flowcount.c. It is
 * the tuple trafficgen varies per flow (source address and port) plus what
 * it keeps fixed, so a flow of trafficgen's --flow-log is one key here.
 */
#ifndef CANARY_FLOWCOUNT_H
#define CANARY_FLOWCOUNT_H

#include <linux/types.h>

struct flowcount_key {
	__u32 saddr[4];		/* network byte order; IPv4 in [0] */
	__u16 sport;		/* host byte order */
	__u16 dport;
	__u8 family;		/* 4 or 6 */
	__u8 proto;
	__u8 pad[2];
};

#endif
