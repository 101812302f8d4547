// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Capture files from the dispatcher's samples: pcapng written here, classic pcap by libpcap. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>

#include "capfile.h"
#include "canary_abi.h"
#include "dp.h"

/* pcapng block types and options (draft-ietf-opsawg-pcapng). */
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du
#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_TSRESOL 9
/* The largest snap length libpcap accepts when it reads a file back. */
#define SNAPLEN_MAX 262144
/* A comment longer than this is cut: a record stays well under libpcap's limits. */
#define COMMENT_MAX 1024

struct canary_capfile {
	FILE *fp;
	pcap_t *dead;		/* classic pcap: libpcap's writer */
	pcap_dumper_t *dump;
	__u32 snaplen;
	__u64 frames;
	char path[512];
	unsigned char *buf;	/* one pcapng block */
	size_t cap;
};

static void __attribute__((format(printf, 3, 4))) say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

bool canary_capfile__is_pcap(const char *path)
{
	size_t n = strlen(path);

	return n >= 5 && !strcmp(path + n - 5, ".pcap");
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put32(unsigned char *p, __u32 v)
{
	memcpy(p, &v, 4);	/* host order: the byte-order magic tells the reader */
}

static void put16(unsigned char *p, __u16 v)
{
	memcpy(p, &v, 2);
}

/* An option at P: code, length, value padded to 4. Returns the bytes used. */
static size_t put_opt(unsigned char *p, __u16 code, const void *val, __u16 len)
{
	put16(p, code);
	put16(p + 2, len);
	memcpy(p + 4, val, len);
	memset(p + 4 + len, 0, pad4(len) - len);
	return 4 + pad4(len);
}

static int grow(struct canary_capfile *f, size_t need)
{
	unsigned char *nb;

	if (need <= f->cap)
		return 0;
	nb = realloc(f->buf, need);
	if (!nb)
		return -ENOMEM;
	f->buf = nb;
	f->cap = need;
	return 0;
}

static int write_block(struct canary_capfile *f, size_t len, char *err, size_t errlen)
{
	if (fwrite(f->buf, 1, len, f->fp) != len) {
		int e = errno ? errno : EIO;

		say(err, errlen, "capture %s: cannot write: %s", f->path, strerror(e));
		return -e;
	}
	return 0;
}

/* The section header and the one interface: Ethernet, SNAPLEN, nanoseconds. */
static int write_header(struct canary_capfile *f, const char *ifname, char *err, size_t errlen)
{
	static const char appl[] = "canaryctl capture";
	const __u8 tsresol = 9;	/* 10^-9 s */
	size_t n, nl = ifname ? strnlen(ifname, 64) : 0;
	unsigned char *p;
	int ret;

	if (grow(f, 256))
		return -ENOMEM;
	p = f->buf;
	put32(p, PCAPNG_SHB);
	put32(p + 8, PCAPNG_BOM);
	put16(p + 12, 1);	/* version 1.0 */
	put16(p + 14, 0);
	memset(p + 16, 0xff, 8);	/* section length: not given */
	n = 24;
	n += put_opt(p + n, SHB_USERAPPL, appl, sizeof(appl) - 1);
	n += put_opt(p + n, OPT_END, "", 0);
	put32(p + n, n + 4);
	n += 4;
	put32(p + 4, n);
	ret = write_block(f, n, err, errlen);
	if (ret)
		return ret;

	put32(p, PCAPNG_IDB);
	put16(p + 8, DLT_EN10MB);
	put16(p + 10, 0);
	put32(p + 12, f->snaplen);
	n = 16;
	if (nl)
		n += put_opt(p + n, IF_NAME, ifname, nl);
	n += put_opt(p + n, IF_TSRESOL, &tsresol, 1);
	n += put_opt(p + n, OPT_END, "", 0);
	put32(p + n, n + 4);
	n += 4;
	put32(p + 4, n);
	return write_block(f, n, err, errlen);
}

int canary_capfile__reserve(const char *path, int *fd, bool *created, char *err, size_t errlen)
{
	int i, ret = -ENOENT;

	*fd = -1;
	*created = false;
	/* Created here (O_EXCL), or an existing file opened as it is (no O_TRUNC). */
	for (i = 0; i < 2 && *fd < 0; i++) {
		*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (*fd >= 0) {
			*created = true;
			break;
		}
		if (errno != EEXIST)
			break;
		*fd = open(path, O_WRONLY | O_CLOEXEC);
		if (*fd < 0 && errno != ENOENT)
			break;
	}
	if (*fd >= 0)
		return 0;
	ret = errno ? -errno : ret;
	say(err, errlen, "capture %s: cannot create it: %s", path, strerror(-ret));
	return ret;
}

void canary_capfile__unreserve(const char *path, int fd, bool remove)
{
	struct stat a, b;

	/* Removed only while PATH is still the file reserve() created. */
	if (remove && fd >= 0 && !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		unlink(path);
	if (fd >= 0)
		close(fd);
}

int canary_capfile__open_fd(int fd, const char *path, __u32 snaplen, const char *ifname,
			    struct canary_capfile **out, char *err, size_t errlen)
{
	struct canary_capfile *f;
	struct stat st;
	int ret;

	*out = NULL;
	if (!snaplen || snaplen > SNAPLEN_MAX) {
		say(err, errlen, "capture %s: snap length %u is not in 1..%u", path, snaplen,
		    SNAPLEN_MAX);
		return -EINVAL;
	}
	/* A regular file is emptied; a pipe or a device is written as it is. */
	if (fstat(fd, &st) || (S_ISREG(st.st_mode) && ftruncate(fd, 0))) {
		ret = -errno;
		say(err, errlen, "capture %s: cannot empty it: %s", path, strerror(-ret));
		return ret;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		say(err, errlen, "capture %s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->snaplen = snaplen;
	/* F's own descriptor: the caller's FD stays the caller's. */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	f->fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f->fp) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		say(err, errlen, "capture %s: %s", path, strerror(-ret));
		free(f);
		return ret;
	}
	if (canary_capfile__is_pcap(path)) {
		f->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)snaplen,
							       PCAP_TSTAMP_PRECISION_NANO);
		f->dump = f->dead ? pcap_dump_fopen(f->dead, f->fp) : NULL;
		if (!f->dump) {
			say(err, errlen, "capture %s: libpcap cannot write it: %s", path,
			    f->dead ? pcap_geterr(f->dead) : "out of memory");
			if (f->dead)
				pcap_close(f->dead);
			fclose(f->fp);
			free(f);
			return -EIO;
		}
		*out = f;
		return 0;
	}
	ret = write_header(f, ifname, err, errlen);
	if (ret) {
		fclose(f->fp);
		free(f->buf);
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

int canary_capfile__open(const char *path, __u32 snaplen, const char *ifname,
			 struct canary_capfile **out, char *err, size_t errlen)
{
	int fd, ret;

	*out = NULL;
	if (!snaplen || snaplen > SNAPLEN_MAX) {
		say(err, errlen, "capture %s: snap length %u is not in 1..%u", path, snaplen,
		    SNAPLEN_MAX);
		return -EINVAL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		ret = -errno;
		say(err, errlen, "capture %s: cannot create it: %s", path, strerror(-ret));
		return ret;
	}
	ret = canary_capfile__open_fd(fd, path, snaplen, ifname, out, err, errlen);
	close(fd);
	return ret;
}

int canary_capfile__write(struct canary_capfile *f, __u64 ts_ns, const void *data, __u32 caplen,
			  __u32 origlen, const char *comment, char *err, size_t errlen)
{
	size_t cl = comment ? strnlen(comment, COMMENT_MAX) : 0, n;
	unsigned char *p;

	if (caplen > f->snaplen || caplen > origlen) {
		say(err, errlen, "capture %s: frame %llu: %u bytes captured of %u, snap length %u",
		    f->path, (unsigned long long)f->frames + 1, caplen, origlen, f->snaplen);
		return -EINVAL;
	}
	if (f->dump) {
		struct pcap_pkthdr h = { .caplen = caplen, .len = origlen };

		/* A nanosecond file: libpcap stores tv_usec as nanoseconds. */
		h.ts.tv_sec = ts_ns / 1000000000ULL;
		h.ts.tv_usec = ts_ns % 1000000000ULL;
		pcap_dump((u_char *)f->dump, &h, data);
		f->frames++;
		return 0;
	}
	if (grow(f, 28 + pad4(caplen) + 4 + pad4(cl) + 8))
		return -ENOMEM;
	p = f->buf;
	put32(p, PCAPNG_EPB);
	put32(p + 8, 0);	/* the one interface */
	put32(p + 12, (__u32)(ts_ns >> 32));
	put32(p + 16, (__u32)ts_ns);
	put32(p + 20, caplen);
	put32(p + 24, origlen);
	memcpy(p + 28, data, caplen);
	memset(p + 28 + caplen, 0, pad4(caplen) - caplen);
	n = 28 + pad4(caplen);
	if (cl) {
		n += put_opt(p + n, OPT_COMMENT, comment, cl);
		n += put_opt(p + n, OPT_END, "", 0);
	}
	put32(p + n, n + 4);
	n += 4;
	put32(p + 4, n);
	if (write_block(f, n, err, errlen))
		return -EIO;
	f->frames++;
	return 0;
}

int canary_capfile__close(struct canary_capfile *f, char *err, size_t errlen)
{
	int ret = 0;

	if (!f)
		return 0;
	if (f->dump) {
		if (pcap_dump_flush(f->dump))
			ret = -EIO;
		/* pcap_dump_close() fcloses f->fp. */
	}
	if (!ret && fflush(f->fp))
		ret = -errno;
	if (!ret && fsync(fileno(f->fp)))
		ret = -errno;
	if (f->dump) {
		pcap_dump_close(f->dump);
		pcap_close(f->dead);
	} else if (fclose(f->fp) && !ret) {
		ret = -errno;
	}
	if (ret)
		say(err, errlen, "capture %s: cannot write it out: %s", f->path, strerror(-ret));
	free(f->buf);
	free(f);
	return ret;
}

__u64 canary_capfile__frames(const struct canary_capfile *f)
{
	return f->frames;
}

void canary_capfile__comment(char *buf, size_t len, __u32 slot, __u32 verdict, __u32 ifindex,
			     __u32 rx_queue, __u32 cpu)
{
	char v[32];

	if (verdict <= CANARY_V_REDIRECT)
		snprintf(v, sizeof(v), "%s", canary_verdict_name(verdict));
	else
		snprintf(v, sizeof(v), "invalid(%u)", verdict);
	snprintf(buf, len, "canary: version=%s slot=%u verdict=%s ifindex=%u rx_queue=%u cpu=%u",
		 slot ? "candidate" : "stable", slot, v, ifindex, rx_queue, cpu);
}
