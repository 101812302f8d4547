/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Program versions: the XDP programs a dispatcher slot runs. Open, check,
 * load (sharing state maps between versions) and identify (SHA-256).
 *
 * Functions return 0 or a negative errno; a failure is also logged in one
 * line naming the object it concerns.
 */
#ifndef CANARY_VERSION_H
#define CANARY_VERSION_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_program;

/*
 * How to load a version: libbpf-style options, sz first (CANARY_VERSION_OPTS
 * fills it), so fields can be added without breaking callers.
 */
struct canary_version_opts {
	size_t sz;
	const char *prog;		/* NULL: the object's one XDP program */
	/*
	 * State maps shared through SHARE_DIR (NULL: none): a map (not
	 * .data/.rodata/.bss) whose name is pinned there with the same
	 * definition is reused, so sessions in, say, a connection table
	 * survive a switch of versions; maps pinned by no earlier version are
	 * pinned after the load. Maps named in PRIVATE_MAPS ("a,b") are never
	 * shared.
	 */
	const char *share_dir;
	const char *private_maps;
	/* Caller-owned: the verifier's log when it refuses the program ("" else). */
	char *log_buf;
	size_t log_size;
	/*
	 * Globals: "NAME=VALUE,..." set in the object's .rodata/.data before
	 * the load, by their BTF names (canary_version__set_globals()).
	 */
	const char *set;
	/* Caller-owned: why a load failed, one line ("" else). */
	char *msg;
	size_t msg_len;
	/*
	 * Caller-owned, 65 bytes: the SHA-256 (hex) of the bytes loaded. The
	 * file is read once, hashed and opened from that memory, so what the
	 * hash names is what runs, whatever replaces the file meanwhile.
	 */
	char *sha256;
};

#define CANARY_VERSION_OPTS(name, ...)                                                             \
	struct canary_version_opts name = { .sz = sizeof(struct canary_version_opts), __VA_ARGS__ }

/*
 * Open and load an XDP program version from an object file; OPTS may be
 * NULL. Returns the program fd (owned by *obj) or a negative errno; *obj is
 * to be closed with bpf_object__close().
 */
int canary_version__load(const char *path, const struct canary_version_opts *opts,
			 struct bpf_object **obj);

/*
 * The dispatcher a version is checked against: multi-buffer (frags) or not,
 * and, for the hint, its interface and MTU (NULL and 0 when not known). A
 * NULL target is a plain (single-buffer) dispatcher.
 */
struct canary_version_target {
	bool frags;
	const char *ifname;
	int mtu;
};

/*
 * Can the loaded program PROG_FD of OBJ share the dispatcher's ProgMap? The
 * checks canaryd applies to every version before traffic can reach it (the
 * kernel's own check at slot insertion would only say EINVAL): the plain XDP
 * attach type and the dispatcher's multi-buffer flag (frags: SEC("xdp.frags")
 * into a frags dispatcher, SEC("xdp") into a plain one). 0, or -EINVAL with
 * the reason and what to do in WHY ("program NAME: ..."). T may be NULL.
 */
int canary_version__check(const struct bpf_object *obj, int prog_fd,
			  const struct canary_version_target *t, char *why, size_t len);
/* The same checks on one program, loaded or only opened (before any load). */
int canary_version__check_prog(const struct bpf_program *p, const struct canary_version_target *t,
			       char *why, size_t len);
/* Is P built multi-buffer (SEC("xdp.frags") or BPF_F_XDP_HAS_FRAGS)? */
bool canary_version__is_frags(const struct bpf_program *p);

/*
 * Look at a version's object file before loading it, so each kind of bad
 * input gets its own one-line answer in MSG: missing, not a regular
 * readable file, not ELF, no such program, not XDP, multi-buffer (frags) or
 * not as the dispatcher T is, another attach type. PROG may be "" for the
 * object's one XDP program; T may be NULL (a plain dispatcher). 0 or -errno.
 */
int canary_version__precheck(const char *obj, const char *prog,
			     const struct canary_version_target *t, char *msg, size_t len);

/*
 * Set globals of the opened, not yet loaded OBJ from SPEC ("NAME=VALUE,..."):
 * each NAME is a variable of .rodata or .data (const volatile or plain
 * globals) found by its BTF name; VALUE is an integer (decimal, 0x hex,
 * negative for signed types) checked against the variable's size and
 * signedness, true/false for a bool, or a string for a char array shorter
 * than it. 0, or -ENOENT (no such variable: MSG lists the object's
 * variables), -EINVAL/-ERANGE (bad value: MSG says which and why).
 */
int canary_version__set_globals(struct bpf_object *obj, const char *path, const char *spec,
				char *msg, size_t len);

/*
 * Pin each map of the loaded OBJ (not .data/.rodata/.bss) as DIR/NAME,
 * creating DIR and its parent if need be; shared maps get a second pin
 * here, so DIR holds all of a version's maps by name. 0 or -errno.
 */
int canary_version__pin_maps(struct bpf_object *obj, const char *dir);

/*
 * Copy every entry of map FROM_FD into TO_FD when both have the same
 * type, key and value sizes and entries (per-CPU values included). Hash
 * and array maps; -EINVAL with WHY for a layout that differs, else -errno.
 */
int canary_map__copy(int from_fd, int to_fd, char *why, size_t len);

/* SHA-256 of a file as 64 hex digits. 0 or a negative errno. */
int canary_sha256_file(const char *path, char hex[65]);

#endif
