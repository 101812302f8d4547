/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Capture files written from the dispatcher's samples (for canaryctl
 * capture, issue 15): pcapng by default, classic
 * pcap for a name ending in ".pcap".
 *
 * libpcap (1.10.3 in Debian 12) writes classic pcap only (pcap_dump), and a
 * classic record has no room for a comment; pcapng is written here, a few
 * blocks by the book (SHB, one IDB: Ethernet, the snap length, nanosecond
 * timestamps; one EPB per frame with its captured and original lengths and
 * an opt_comment, "canary: version=stable slot=0 verdict=pass ..."). Both
 * are read back with libpcap's pcap_open_offline(), by canaryctl preflight
 * and by tcpdump or Wireshark.
 *
 * The caller's own process opens the file (O_CREAT, mode 0666 less the
 * umask), so it belongs to whoever runs canaryctl, never to canaryd. A
 * caller that must ask someone first (canaryctl capture asks canaryd)
 * reserves the file (canary_capfile__reserve: opened, nothing in it
 * changed), then opens the capture on it (canary_capfile__open_fd: emptied,
 * the header written) or gives it up (canary_capfile__unreserve): a refused
 * capture leaves an existing file as it was and removes one it created.
 */
#ifndef CANARY_CAPFILE_H
#define CANARY_CAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct canary_capfile;

/* The classic pcap format for PATH (a name ending in ".pcap"), else pcapng. */
bool canary_capfile__is_pcap(const char *path);

/*
 * Create PATH for frames of at most SNAPLEN bytes (1..262144), its format by
 * its name (canary_capfile__is_pcap), IFNAME for the pcapng interface block
 * (may be NULL). 0 and *OUT, or a negative errno with one line in ERR
 * naming the file.
 */
int canary_capfile__open(const char *path, __u32 snaplen, const char *ifname,
			 struct canary_capfile **out, char *err, size_t errlen);

/*
 * PATH opened for writing, nothing in it changed: 0, *FD and *CREATED (it
 * did not exist), or a negative errno with one line in ERR naming the file.
 */
int canary_capfile__reserve(const char *path, int *fd, bool *created, char *err, size_t errlen);

/* FD closed; PATH removed if REMOVE and PATH is still FD's file. */
void canary_capfile__unreserve(const char *path, int fd, bool remove);

/*
 * As canary_capfile__open() on a reserved FD (PATH names it and gives the
 * format): a regular file emptied, the header written. F has its own
 * descriptor: FD stays the caller's to give up with __unreserve().
 */
int canary_capfile__open_fd(int fd, const char *path, __u32 snaplen, const char *ifname,
			    struct canary_capfile **out, char *err, size_t errlen);

/*
 * One frame: TS_NS nanoseconds since the epoch, CAPLEN bytes of DATA (at
 * most the snap length) of a frame ORIGLEN long on the wire, COMMENT (may
 * be NULL; pcapng only, classic pcap has nowhere to put it). 0 or a
 * negative errno with ERR.
 */
int canary_capfile__write(struct canary_capfile *f, __u64 ts_ns, const void *data, __u32 caplen,
			  __u32 origlen, const char *comment, char *err, size_t errlen);

/* Flush, fsync and close. 0 or a negative errno with ERR; F is freed either way. */
int canary_capfile__close(struct canary_capfile *f, char *err, size_t errlen);

/*
 * The per-frame comment of a sample: "canary: version=stable slot=0
 * verdict=pass ifindex=5 rx_queue=0 cpu=1" (version "candidate" for slots
 * 1..3; the verdict by canary_verdict_name(), a raw value beyond
 * XDP_REDIRECT as "invalid(N)").
 */
void canary_capfile__comment(char *buf, size_t len, __u32 slot, __u32 verdict, __u32 ifindex,
			     __u32 rx_queue, __u32 cpu);

/* The frames written so far. */
__u64 canary_capfile__frames(const struct canary_capfile *f);

#endif
