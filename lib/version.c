// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Program versions: open, check, load (sharing state maps), identify. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>

#include "log.h"
#include "parse.h"
#include "version.h"

/*
 * State maps: a map of the version that is not internal (.data, .rodata,
 * .bss, .kconfig stay private) and whose name is pinned in SHARE_DIR with
 * the same type, key and value sizes, entries and flags is reused, so a
 * connection table survives a switch of versions. A map of that name but
 * another definition stays private (and is logged). Maps named in PRIVATE
 * (comma-separated) are never shared.
 */
static bool name_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static int share_maps(struct bpf_object *obj, const char *path, const char *share_dir,
		      const char *private)
{
	char pin[PATH_MAX];
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd, err;

		if (bpf_map__is_internal(m) || name_listed(private, bpf_map__name(m)))
			continue;
		if (snprintf(pin, sizeof(pin), "%s/%s", share_dir, bpf_map__name(m)) >=
		    (int)sizeof(pin))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(pin);
		if (fd < 0)
			continue;	/* first user: pinned after load */
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (!err && info.type == bpf_map__type(m) &&
		    info.key_size == bpf_map__key_size(m) &&
		    info.value_size == bpf_map__value_size(m) &&
		    info.max_entries == bpf_map__max_entries(m) &&
		    info.map_flags == bpf_map__map_flags(m)) {
			err = bpf_map__reuse_fd(m, fd);
			if (err) {
				close(fd);
				return err;
			}
			pr_debug("object %s: map %s shared with the running version\n", path,
				 bpf_map__name(m));
		} else {
			pr_info("object %s: map %s differs from the running version's; it stays "
				"private\n", path, bpf_map__name(m));
		}
		close(fd);
	}
	return 0;
}

/* Pin the state maps no earlier version pinned, for the versions to come. */
static int pin_new_maps(struct bpf_object *obj, const char *share_dir, const char *private)
{
	char pin[PATH_MAX];
	struct bpf_map *m;

	if (mkdir(share_dir, 0700) && errno != EEXIST)
		return -errno;
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m) || name_listed(private, bpf_map__name(m)))
			continue;
		snprintf(pin, sizeof(pin), "%s/%s", share_dir, bpf_map__name(m));
		if (!access(pin, F_OK))
			continue;
		if (bpf_obj_pin(bpf_map__fd(m), pin))
			return -errno;
	}
	return 0;
}

/*
 * Maps declared with LIBBPF_PIN_BY_NAME (xdp-tools' programs) would be
 * pinned by libbpf under /sys/fs/bpf/NAME, outside canaryd's tree and shared
 * by every interface. Their pinning is cleared: like every other map they
 * are shared through SHARE_DIR by name (unless private) and pinned in the
 * version's own map directory (canary_version__pin_maps()).
 */
static void unpin_by_name(struct bpf_object *obj, const char *path)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		if (!bpf_map__pin_path(m))
			continue;
		pr_debug("object %s: map %s pinned by name: pinned in canaryd's tree instead\n",
			 path, bpf_map__name(m));
		bpf_map__set_pin_path(m, NULL);
	}
}

/* The variable NAME of a .rodata/.data datasec of OBJ: its map, offset, type. */
struct global_var {
	struct bpf_map *map;
	__u32 off, size;
	const struct btf_type *t;	/* resolved (no typedef/const/volatile) */
};

static int list_globals(struct bpf_object *obj, const char *want, struct global_var *out,
			char *names, size_t len)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *m;
	size_t used = 0;

	if (names && len)
		names[0] = '\0';
	if (!btf)
		return -ENOENT;
	bpf_object__for_each_map(m, obj) {
		const char *mn = bpf_map__name(m), *dot = strrchr(mn, '.');
		const struct btf_var_secinfo *vs;
		const struct btf_type *sec;
		char secname[16];
		int id, i;

		if (!bpf_map__is_internal(m) || !dot ||
		    (strcmp(dot, ".rodata") && strcmp(dot, ".data")))
			continue;
		snprintf(secname, sizeof(secname), "%s", dot);
		id = btf__find_by_name_kind(btf, secname, BTF_KIND_DATASEC);
		if (id < 0)
			continue;
		sec = btf__type_by_id(btf, id);
		vs = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);
			const char *vn = btf__name_by_offset(btf, var->name_off);

			if (!btf_is_var(var))
				continue;
			if (want && !strcmp(vn, want)) {
				out->map = m;
				out->off = vs->offset;
				out->size = vs->size;
				out->t = btf__type_by_id(btf, btf__resolve_type(btf, var->type));
				return 0;
			}
			if (names && used + strlen(vn) + 3 < len)
				used += snprintf(names + used, len - used, "%s%s", used ? ", " : "",
						 vn);
		}
	}
	return -ENOENT;
}

static int set_one(struct bpf_object *obj, const char *path, const char *name,
		   const char *value, char *msg, size_t len)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct global_var g = {};
	char names[512];
	size_t sz;
	char *data;
	__u64 v;
	int err;

	if (list_globals(obj, name, &g, NULL, 0)) {
		list_globals(obj, NULL, NULL, names, sizeof(names));
		snprintf(msg, len, "object %s has no global variable '%s' in .rodata or .data "
			 "(it has: %s)", path, name, names[0] ? names : "none");
		return -ENOENT;
	}
	data = (char *)bpf_map__initial_value(g.map, &sz);
	if (!data || g.off + g.size > sz) {
		snprintf(msg, len, "object %s: variable %s cannot be set before the load", path,
			 name);
		return -EINVAL;
	}
	if (btf_is_array(g.t)) {
		const struct btf_array *a = btf_array(g.t);
		const struct btf_type *et = btf__type_by_id(btf, btf__resolve_type(btf, a->type));

		if (!btf_is_int(et) || et->size != 1) {
			snprintf(msg, len, "object %s: variable %s is an array of other than char; "
				 "only integers, bools and char arrays can be set", path, name);
			return -EINVAL;
		}
		if (strlen(value) >= g.size) {
			snprintf(msg, len, "object %s: variable %s holds at most %u characters, "
				 "'%s' has %zu", path, name, g.size - 1, value, strlen(value));
			return -ERANGE;
		}
		memset(data + g.off, 0, g.size);
		memcpy(data + g.off, value, strlen(value));
		return 0;
	}
	if (!btf_is_int(g.t) && !btf_is_enum(g.t)) {
		snprintf(msg, len, "object %s: variable %s is not an integer, bool or char array; "
			 "it cannot be set", path, name);
		return -EINVAL;
	}
	err = canary_parse_int_value(value, g.size,
				     btf_is_int(g.t) && (btf_int_encoding(g.t) & BTF_INT_SIGNED),
				     &v);
	if (!err && btf_is_int(g.t) && (btf_int_encoding(g.t) & BTF_INT_BOOL) && v > 1)
		err = -ERANGE;
	if (err) {
		snprintf(msg, len, "object %s: variable %s (%u bytes%s) cannot hold '%s': %s", path,
			 name, g.size,
			 btf_is_int(g.t) && (btf_int_encoding(g.t) & BTF_INT_SIGNED) ? ", signed" :
			 "", value, err == -ERANGE ? "out of range" : "not a number");
		return err;
	}
	memcpy(data + g.off, &v, g.size);	/* little-endian: the low bytes */
	return 0;
}

int canary_version__set_globals(struct bpf_object *obj, const char *path, const char *spec,
				char *msg, size_t len)
{
	char name[128], value[256];
	const char *s = spec;
	int r;

	while ((r = canary_assign__next(&s, name, sizeof(name), value, sizeof(value))) > 0) {
		r = set_one(obj, path, name, value, msg, len);
		if (r)
			return r;
	}
	if (r < 0)
		snprintf(msg, len, "object %s: bad setting in '%s': want NAME=VALUE,...", path,
			 spec);
	return r;
}

int canary_version__pin_maps(struct bpf_object *obj, const char *dir)
{
	char pin[PATH_MAX], parent[PATH_MAX], *slash;
	struct bpf_map *m;

	/* mkdir -p: every component after the first. */
	snprintf(parent, sizeof(parent), "%s", dir);
	for (slash = strchr(parent + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(parent, 0700) && errno != EEXIST)
			return -errno;
		if (!slash)
			break;
		*slash = '/';
	}
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m))
			continue;
		if (snprintf(pin, sizeof(pin), "%s/%s", dir, bpf_map__name(m)) >= (int)sizeof(pin))
			return -ENAMETOOLONG;
		unlink(pin);
		if (bpf_obj_pin(bpf_map__fd(m), pin))
			return -errno;
	}
	return 0;
}

static bool map_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

int canary_map__copy(int from_fd, int to_fd, char *why, size_t len)
{
	struct bpf_map_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b);
	void *key = NULL, *next = NULL, *val = NULL;
	size_t vsz;
	int err, ncpu = 1;

	if (bpf_obj_get_info_by_fd(from_fd, &a, &la) || bpf_obj_get_info_by_fd(to_fd, &b, &lb)) {
		err = -errno;
		snprintf(why, len, "cannot read the maps' definitions: %s", strerror(-err));
		return err;
	}
	if (a.id == b.id)
		return 0;	/* one map */
	if (a.type != b.type || a.key_size != b.key_size || a.value_size != b.value_size ||
	    a.max_entries != b.max_entries) {
		snprintf(why, len, "layouts differ (type %u/%u, key %u/%u, value %u/%u bytes, "
			 "%u/%u entries)", a.type, b.type, a.key_size, b.key_size, a.value_size,
			 b.value_size, a.max_entries, b.max_entries);
		return -EINVAL;
	}
	if (map_percpu(a.type)) {
		ncpu = libbpf_num_possible_cpus();
		if (ncpu < 0)
			return ncpu;
	}
	vsz = map_percpu(a.type) ? (size_t)((a.value_size + 7) & ~7U) * ncpu : a.value_size;
	key = calloc(1, a.key_size);
	next = calloc(1, a.key_size);
	val = calloc(1, vsz);
	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	err = bpf_map_get_next_key(from_fd, NULL, next);
	while (!err) {
		memcpy(key, next, a.key_size);
		if (!bpf_map_lookup_elem(from_fd, key, val) &&
		    bpf_map_update_elem(to_fd, key, val, BPF_ANY)) {
			err = -errno;
			snprintf(why, len, "cannot write an entry: %s", strerror(-err));
			goto out;
		}
		err = bpf_map_get_next_key(from_fd, key, next);
	}
	err = errno == ENOENT ? 0 : -errno;
	if (err)
		snprintf(why, len, "cannot read the entries: %s", strerror(-err));
out:
	free(key);
	free(next);
	free(val);
	return err;
}

/* The SHA-256 of LEN bytes at BUF, as 64 hex digits. */
static void sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	hex[0] = '\0';
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL))
		return;
	for (i = 0; i < n && i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
}

/* The whole object file into *BUF (malloc'd), at most 256 MiB: 0 or -errno. */
#define OBJECT_MAX (256u << 20)
static int read_object(const char *path, void **bufp, size_t *sizep)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > OBJECT_MAX) {
		err = S_ISREG(sb.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc(sb.st_size ? sb.st_size : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + len, sb.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;	/* shorter than it was: changing under us */
			goto out;
		}
		len += n;
	}
out:
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*sizep = len;
	return 0;
}

int canary_version__load(const char *path, const struct canary_version_opts *opts,
			struct bpf_object **objp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct bpf_program *p, *found = NULL;
	const char *prog, *share_dir, *private;
	struct bpf_object *obj;
	void *buf = NULL;
	size_t size = 0;
	char name[64];
	int err, nxdp = 0;

	*objp = NULL;
	if (opts && opts->sz < offsetof(struct canary_version_opts, log_size) + sizeof(size_t))
		return -EINVAL;
	prog = opts ? opts->prog : NULL;
	share_dir = opts ? opts->share_dir : NULL;
	private = opts ? opts->private_maps : NULL;
	if (opts && opts->log_buf && opts->log_size) {
		/* libbpf asks the verifier for its log when a load fails, into this buffer. */
		opts->log_buf[0] = '\0';
		oopts.kernel_log_buf = opts->log_buf;
		oopts.kernel_log_size = opts->log_size;
	}
	err = read_object(path, &buf, &size);
	if (err) {
		pr_warn("object %s: cannot read: %s\n", path, strerror(-err));
		return err;
	}
	if (opts && opts->sz >= offsetof(struct canary_version_opts, sha256) + sizeof(char *) &&
	    opts->sha256)
		sha256_hex(buf, size, opts->sha256);
	/*
	 * The object's name as libbpf gives a file's (its base name up to the
	 * first dot): the kernel's names of .rodata and friends carry it.
	 */
	{
		const char *base = strrchr(path, '/');

		snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
		name[strcspn(name, ".")] = '\0';
		oopts.object_name = name;
	}
	obj = bpf_object__open_mem(buf, size, &oopts);
	if (!obj) {
		err = -errno;
		pr_warn("object %s: cannot open: %s\n", path, strerror(-err));
		free(buf);
		return err;
	}
	bpf_object__for_each_program(p, obj) {
		bool is_xdp = bpf_program__type(p) == BPF_PROG_TYPE_XDP;

		nxdp += is_xdp;
		if (prog ? !strcmp(bpf_program__name(p), prog) : (is_xdp && !found))
			found = p;
		else
			bpf_program__set_autoload(p, false);
	}
	if (!found || (!prog && nxdp != 1)) {
		if (prog)
			pr_warn("object %s: no program named '%s'\n", path, prog);
		else
			pr_warn("object %s: holds %d XDP programs; name one as OBJECT:PROGRAM\n",
				path, nxdp);
		err = -ENOENT;
		goto err_close;
	}
	if (bpf_program__type(found) != BPF_PROG_TYPE_XDP) {
		pr_warn("object %s program %s: not an XDP program\n", path,
			bpf_program__name(found));
		err = -EINVAL;
		goto err_close;
	}
	unpin_by_name(obj, path);
	if (opts && opts->sz >= offsetof(struct canary_version_opts, msg_len) + sizeof(size_t)) {
		if (opts->msg && opts->msg_len)
			opts->msg[0] = '\0';
		if (opts->set && opts->set[0]) {
			char m[512];

			err = canary_version__set_globals(obj, path, opts->set, m, sizeof(m));
			if (err) {
				pr_warn("%s\n", m);
				if (opts->msg && opts->msg_len)
					snprintf(opts->msg, opts->msg_len, "%s", m);
				goto err_close;
			}
		}
	}
	if (share_dir) {
		err = share_maps(obj, path, share_dir, private);
		if (err) {
			pr_warn("object %s: cannot share state maps from %s: %s\n", path, share_dir,
				strerror(-err));
			goto err_close;
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		pr_warn("object %s program %s: verifier or loader refused it: %s\n", path,
			bpf_program__name(found), strerror(-err));
		goto err_close;
	}
	if (share_dir) {
		err = pin_new_maps(obj, share_dir, private);
		if (err) {
			pr_warn("object %s: cannot pin state maps in %s: %s\n", path, share_dir,
				strerror(-err));
			goto err_close;
		}
	}
	*objp = obj;
	free(buf);	/* libbpf is done with the ELF once the object is loaded */
	return bpf_program__fd(found);

err_close:
	bpf_object__close(obj);
	free(buf);
	return err;
}

bool canary_version__is_frags(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);

	/*
	 * libbpf turns SEC("xdp.frags") into BPF_F_XDP_HAS_FRAGS in the load
	 * attributes only, not in bpf_program__flags(): look at the section
	 * name too.
	 */
	return (bpf_program__flags(p) & BPF_F_XDP_HAS_FRAGS) || !strncmp(sec, "xdp.frags", 9) ||
	       !strncmp(sec, "xdp/frags", 9);
}

int canary_version__check_prog(const struct bpf_program *p, const struct canary_version_target *t,
			       char *why, size_t len)
{
	const char *sec = bpf_program__section_name(p);
	bool want = t && t->frags, frags = canary_version__is_frags(p);
	char on[IF_NAMESIZE + 8] = "", mtu[32] = "";

	if (t && t->ifname && t->ifname[0])
		snprintf(on, sizeof(on), " on %s", t->ifname);
	if (t && t->mtu > 0)
		snprintf(mtu, sizeof(mtu), "%d", t->mtu);
	if (frags && !want) {
		snprintf(why, len, "program %s: built for multi-buffer frames (SEC(\"%s\")) but "
			 "the dispatcher%s is not; rebuild it as SEC(\"xdp\"), or set frags = yes "
			 "for the interface if its MTU%s%s needs it", bpf_program__name(p), sec, on,
			 mtu[0] ? " " : "", mtu);
		return -EINVAL;
	}
	if (!frags && want) {
		snprintf(why, len, "program %s: built for single-buffer frames (SEC(\"%s\")); "
			 "rebuild it as SEC(\"xdp.frags\") (the dispatcher%s runs multi-buffer%s%s)",
			 bpf_program__name(p), sec, on, mtu[0] ? ": MTU " : "", mtu);
		return -EINVAL;
	}
	if (bpf_program__expected_attach_type(p) != BPF_XDP) {
		snprintf(why, len, "program %s: SEC(\"%s\") gives attach type %d, not the "
			 "dispatcher's (plain XDP); rebuild it as SEC(\"%s\")",
			 bpf_program__name(p), sec, bpf_program__expected_attach_type(p),
			 want ? "xdp.frags" : "xdp");
		return -EINVAL;
	}
	return 0;
}

int canary_version__check(const struct bpf_object *obj, int prog_fd,
			  const struct canary_version_target *t, char *why, size_t len)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
		if (bpf_program__fd(p) == prog_fd)
			return canary_version__check_prog(p, t, why, len);
	snprintf(why, len, "program fd %d is not in this object", prog_fd);
	return -ENOENT;
}

int canary_sha256_file(const char *path, char hex[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	EVP_MD_CTX *ctx;
	ssize_t got;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, got);
	if (got < 0) {
		err = -errno;
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &n);
	for (i = 0; i < n && i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return err;
}

/*
 * Look at a candidate object before loading it, so each kind of bad input
 * gets its own one-line answer: missing, not a regular readable file, not
 * ELF, no such program, not XDP, multi-buffer (frags), another attach type.
 * Root reads files whatever their mode, so "unreadable" is seen here as a
 * directory or a file that is not a BPF object. 0 or -errno with MSG set.
 */
int canary_version__precheck(const char *obj, const char *prog,
			     const struct canary_version_target *t, char *msg, size_t len)
{
	struct bpf_program *p, *found = NULL;
	struct bpf_object *bobj;
	unsigned char magic[4] = {};
	char what[256] = "";
	struct stat sb;
	int fd, n = 0, err = 0;

	if (stat(obj, &sb)) {
		err = -errno;
		snprintf(msg, len, "candidate %s: %s; give the path of a compiled BPF object "
			 "(clang -target bpf)", obj, strerror(-err));
		return err;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(msg, len, "candidate %s is not a regular file (%s); give the path of a "
			 "compiled BPF object (.bpf.o)", obj, S_ISDIR(sb.st_mode) ? "a directory" :
			 "a special file");
		return -EISDIR;
	}
	fd = open(obj, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, magic, sizeof(magic)) != sizeof(magic) ||
	    memcmp(magic, "\177ELF", 4)) {
		err = fd < 0 ? -errno : -ENOEXEC;
		if (fd >= 0)
			close(fd);
		snprintf(msg, len, "candidate %s %s; build it with clang -target bpf -O2 -g", obj,
			 err == -ENOEXEC ? "is not an ELF BPF object" : "cannot be read");
		return err;
	}
	close(fd);
	bobj = bpf_object__open_file(obj, NULL);
	if (!bobj) {
		char lerr[128];

		err = -errno;
		libbpf_strerror(err, lerr, sizeof(lerr));
		snprintf(msg, len, "candidate %s: libbpf cannot open it: %s; build it with clang "
			 "-target bpf -O2 -g", obj, lerr);
		return err;
	}
	bpf_object__for_each_program(p, bobj) {
		bool xdp = bpf_program__type(p) == BPF_PROG_TYPE_XDP;

		if (prog[0] ? !strcmp(bpf_program__name(p), prog) : xdp) {
			found = p;
			n++;
		}
		if (!xdp && !what[0])
			snprintf(what, sizeof(what), "%s is %s, SEC(\"%s\")", bpf_program__name(p),
				 libbpf_bpf_prog_type_str(bpf_program__type(p)) ?: "?",
				 bpf_program__section_name(p));
	}
	if (!found) {
		err = -ENOENT;
		if (prog[0])
			snprintf(msg, len, "candidate %s has no program named %s", obj, prog);
		else
			snprintf(msg, len,
				 "candidate %s holds no XDP program%s%s%s; the dispatcher "
				 "runs XDP versions only, SEC(\"xdp\")",
				 obj, what[0] ? " (" : "", what, what[0] ? ")" : "");
	} else if (n > 1) {
		err = -EINVAL;
		snprintf(msg, len, "candidate %s holds %d XDP programs; name one as OBJECT:PROGRAM",
			 obj, n);
	} else if (bpf_program__type(found) != BPF_PROG_TYPE_XDP) {
		err = -EINVAL;
		snprintf(msg, len, "candidate %s program %s is %s, SEC(\"%s\"), not XDP; the "
			 "dispatcher runs XDP versions only, SEC(\"xdp\")", obj, prog,
			 libbpf_bpf_prog_type_str(bpf_program__type(found)) ?: "?",
			 bpf_program__section_name(found));
	} else {
		/* The checks every version gets (dp.h), here before anything loads. */
		err = canary_version__check_prog(found, t, what, sizeof(what));
		if (err)
			snprintf(msg, len, "candidate %s %s", obj, what);
	}
	bpf_object__close(bobj);
	return err;
}
