// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/capfile.c, the writer behind canaryctl capture: frames written as
 * pcapng and as classic pcap, read back with libpcap (bytes, captured and
 * original lengths, nanosecond timestamps), the pcapng comments found in
 * the file's blocks; the errors name the file; a reserved file unchanged
 * until the capture is taken. No privileges needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>

#include "canary_abi.h"
#include "capfile.h"

#define N 300
#define SNAP 200

static char dir[64];

struct frame {
	__u8 data[CANARY_SNAP_MAX];
	__u32 caplen, len;
	__u64 ts;
	char comment[160];
};

static struct frame frames[N];

/* Frame I: 14..1514 bytes on the wire, cut at SNAP; a few verdicts and slots. */
static void make_frames(void)
{
	__u32 i, j;

	for (i = 0; i < N; i++) {
		struct frame *f = &frames[i];

		f->len = 14 + (i * 37) % (CANARY_SNAP_MAX - 13);
		f->caplen = f->len < SNAP ? f->len : SNAP;
		for (j = 0; j < f->caplen; j++)
			f->data[j] = (__u8)(i * 7 + j);
		f->ts = 1700000000123456789ULL + (__u64)i * 1000003;
		canary_capfile__comment(f->comment, sizeof(f->comment), i % 4, i % 7, 5, i % 3,
					i % 2);
	}
}

static void write_file(const char *path)
{
	struct canary_capfile *cf;
	char err[256] = "";
	__u32 i;

	assert_int_equal(canary_capfile__open(path, SNAP, "veth0", &cf, err, sizeof(err)), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(canary_capfile__write(cf, frames[i].ts, frames[i].data,
						       frames[i].caplen, frames[i].len,
						       frames[i].comment, err, sizeof(err)),
				 0);
	assert_int_equal(canary_capfile__frames(cf), N);
	assert_int_equal(canary_capfile__close(cf, err, sizeof(err)), 0);
}

/* PATH read with libpcap: every frame as written, nothing after. */
static void read_back(const char *path)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	pcap_t *pc;
	__u32 i;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!pc)
		fail_msg("pcap_open_offline %s: %s", path, ebuf);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	assert_int_equal(pcap_snapshot(pc), SNAP);
	for (i = 0; i < N; i++) {
		assert_int_equal(pcap_next_ex(pc, &h, &pkt), 1);
		assert_int_equal(h->caplen, frames[i].caplen);
		assert_int_equal(h->len, frames[i].len);
		assert_memory_equal(pkt, frames[i].data, h->caplen);
		assert_int_equal((__u64)h->ts.tv_sec * 1000000000ULL + h->ts.tv_usec, frames[i].ts);
	}
	assert_int_equal(pcap_next_ex(pc, &h, &pkt), PCAP_ERROR_BREAK);
	pcap_close(pc);
}

static __u32 get32(const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return v;
}

static __u16 get16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return v;
}

/*
 * libpcap does not hand out comments: walk the pcapng blocks (this
 * machine's byte order, as written) and check each EPB's opt_comment.
 */
static void check_comments(const char *path)
{
	static __u8 buf[4 << 20];
	size_t len, off = 0;
	__u32 epb = 0;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_true(len > 28);
	assert_int_equal(get32(buf), 0x0A0D0D0A);
	assert_int_equal(get32(buf + 8), 0x1A2B3C4D);
	while (off + 12 <= len) {
		__u32 type = get32(buf + off), blen = get32(buf + off + 4);

		assert_true(blen >= 12 && blen % 4 == 0 && off + blen <= len);
		assert_int_equal(get32(buf + off + blen - 4), blen);
		if (type == 6) {
			__u32 cl = get32(buf + off + 20), o = 28 + ((cl + 3) & ~3u);
			bool found = false;

			assert_true(epb < N);
			while (o + 4 <= blen - 4) {
				__u16 code = get16(buf + off + o), ol = get16(buf + off + o + 2);

				if (!code)
					break;
				if (code == 1) {
					assert_int_equal(ol, strlen(frames[epb].comment));
					assert_memory_equal(buf + off + o + 4, frames[epb].comment, ol);
					found = true;
				}
				o += 4 + ((ol + 3u) & ~3u);
			}
			assert_true(found);
			epb++;
		}
		off += blen;
	}
	assert_int_equal(off, len);
	assert_int_equal(epb, N);
}

static void test_pcapng(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/x.pcapng", dir);
	assert_false(canary_capfile__is_pcap(path));
	write_file(path);
	read_back(path);
	check_comments(path);
	/* The comment's words, as the README shows them. */
	assert_string_equal(frames[1].comment,
			    "canary: version=candidate slot=1 verdict=drop ifindex=5 rx_queue=1 cpu=1");
	assert_string_equal(frames[6].comment,
			    "canary: version=candidate slot=2 verdict=invalid(6) ifindex=5 rx_queue=0 cpu=0");
}

static void test_pcap(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/x.pcap", dir);
	assert_true(canary_capfile__is_pcap(path));
	write_file(path);
	read_back(path);
	/* Classic pcap: a 24-byte header, 16 bytes per record, the data; no comments. */
	assert_int_equal(stat(path, &st), 0);
	{
		size_t want = 24;
		__u32 i;

		for (i = 0; i < N; i++)
			want += 16 + frames[i].caplen;
		assert_int_equal((size_t)st.st_size, want);
	}
}

static void test_errors(void **state)
{
	struct canary_capfile *cf = NULL;
	char path[128], err[256] = "";
	int ret;

	(void)state;
	/* A directory that does not exist: the file named, nothing created. */
	snprintf(path, sizeof(path), "%s/no/such/dir/x.pcapng", dir);
	ret = canary_capfile__open(path, SNAP, NULL, &cf, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	assert_null(cf);
	assert_non_null(strstr(err, path));
	/* A snap length libpcap would refuse to read back. */
	snprintf(path, sizeof(path), "%s/y.pcapng", dir);
	assert_int_equal(canary_capfile__open(path, 0, NULL, &cf, err, sizeof(err)), -EINVAL);
	assert_int_equal(canary_capfile__open(path, 262145, NULL, &cf, err, sizeof(err)), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	/* A frame longer than the snap length, or captured beyond its length: refused. */
	assert_int_equal(canary_capfile__open(path, 64, NULL, &cf, err, sizeof(err)), 0);
	assert_int_equal(canary_capfile__write(cf, 1, frames[0].data, 65, 100, NULL, err,
					       sizeof(err)), -EINVAL);
	assert_int_equal(canary_capfile__write(cf, 1, frames[0].data, 20, 10, NULL, err,
					       sizeof(err)), -EINVAL);
	assert_int_equal(canary_capfile__frames(cf), 0);
	assert_int_equal(canary_capfile__close(cf, err, sizeof(err)), 0);
	/* /dev/full: the write fails at the latest on close, and says so. */
	ret = canary_capfile__open("/dev/full", SNAP, NULL, &cf, err, sizeof(err));
	if (ret == 0) {
		__u32 i;

		for (i = 0; i < N && !ret; i++)
			ret = canary_capfile__write(cf, 1, frames[i].data, frames[i].caplen,
						    frames[i].len, NULL, err, sizeof(err));
		if (!ret)
			ret = canary_capfile__close(cf, err, sizeof(err));
		else
			canary_capfile__close(cf, NULL, 0);
		assert_true(ret < 0);
		assert_non_null(strstr(err, "/dev/full"));
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/canary-capture.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	make_frames();
	return 0;
}

/*
 * canaryctl capture's order: the file reserved before canaryd is asked. An
 * existing file stays as it was when the capture is given up and is
 * emptied and written when it is taken; a file the reservation created is
 * removed when given up. The negative check: open() empties at once.
 */
static void test_reserve(void **state)
{
	static const char old[] = "an earlier capture, 42 bytes of it, kept.\n";
	struct canary_capfile *cf = NULL;
	char path[128], buf[64], err[256] = "";
	bool created = true;
	int fd = -1;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/old.pcapng", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(old, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	/* Reserved and given up: the same bytes. */
	assert_int_equal(canary_capfile__reserve(path, &fd, &created, err, sizeof(err)), 0);
	assert_false(created);
	canary_capfile__unreserve(path, fd, created);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), strlen(old));
	fclose(fp);
	assert_memory_equal(buf, old, strlen(old));
	/* Reserved and taken: emptied, then a capture libpcap reads. */
	assert_int_equal(canary_capfile__reserve(path, &fd, &created, err, sizeof(err)), 0);
	assert_int_equal(canary_capfile__open_fd(fd, path, SNAP, "veth0", &cf, err, sizeof(err)),
			 0);
	canary_capfile__unreserve(path, fd, false);
	for (__u32 i = 0; i < N; i++)
		assert_int_equal(canary_capfile__write(cf, frames[i].ts, frames[i].data,
						       frames[i].caplen, frames[i].len,
						       frames[i].comment, err, sizeof(err)),
				 0);
	assert_int_equal(canary_capfile__close(cf, err, sizeof(err)), 0);
	read_back(path);
	/* A file the reservation made, given up: gone. */
	snprintf(path, sizeof(path), "%s/new.pcap", dir);
	assert_int_equal(canary_capfile__reserve(path, &fd, &created, err, sizeof(err)), 0);
	assert_true(created);
	canary_capfile__unreserve(path, fd, created);
	assert_int_equal(access(path, F_OK), -1);
	/* Not writable: the file named. */
	snprintf(path, sizeof(path), "%s/no/such/x.pcapng", dir);
	assert_int_equal(canary_capfile__reserve(path, &fd, &created, err, sizeof(err)), -ENOENT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot create it"));
	/* The negative check: open() itself empties an existing file. */
	snprintf(path, sizeof(path), "%s/old.pcapng", dir);
	assert_int_equal(canary_capfile__open(path, SNAP, NULL, &cf, err, sizeof(err)), 0);
	assert_int_equal(canary_capfile__close(cf, err, sizeof(err)), 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, 4, fp), 4);
	assert_memory_not_equal(buf, old, 4);
	fclose(fp);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_pcap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
