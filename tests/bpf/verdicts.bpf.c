// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ordinary XDP programs, one per verdict, as stand-in versions for tests. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp") int ret_aborted(struct xdp_md *ctx) { return XDP_ABORTED; }
SEC("xdp") int ret_drop(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp") int ret_pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int ret_tx(struct xdp_md *ctx) { return XDP_TX; }
SEC("xdp") int ret_redirect(struct xdp_md *ctx) { return XDP_REDIRECT; }
SEC("xdp") int ret_invalid(struct xdp_md *ctx) { return 42; }
