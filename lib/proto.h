/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The control protocol between canaryd and canaryctl (and any other tool):
 * a UNIX stream socket (mode 0600), one JSON object per line each way, one
 * request per connection. A connection has 5 s for the whole exchange (the
 * request line, then reading the reply): past that canaryd closes it, after
 * a one-line error if the request was not complete; at most 16 connections
 * at once, one more gets a one-line error (errno EBUSY) and is closed.
 * "metrics" in the status reply: "listening", "off", or "unbound" while
 * the configured address cannot be bound (canaryd tries again every 10 s).
 *
 * Requests ("cmd" is required; "iface" names the interface):
 *   {"cmd":"status"}                           every interface
 *   {"cmd":"status","iface":"eth0"}
 *   {"cmd":"start","iface":"eth0","candidate":"/path/fw_v2.bpf.o[:prog]",
 *    "steps":"1,5,25,50,100", "step_time_ms":60000}   steps/step_time_ms optional
 *   {"cmd":"pause"|"resume"|"promote"|"abort"|"revert","iface":"eth0"}
 *   {"cmd":"capture","iface":"eth0","count":2000,"version":"any"|"stable"|"candidate",
 *    "rate":10000,"snap":1514}      a live capture session (canaryd/capture.c);
 *                                   version, rate (per s per CPU), snap optional
 *     -> {"ok":true,"id":N,"snap":1514}
 *   {"cmd":"capture-read","iface":"eth0","id":N}   the samples waiting, at most
 *     512 KiB of base64: {"ok":true,"samples":[{"ts_ns" (wall clock),"len" (on
 *     the wire),"slot","verdict" (raw XDP action),"ifindex","rx_queue","cpu",
 *     "data" (base64 of the captured bytes)}],"want","taken","handed","skipped"
 *     (the other version's),"overflow" (over canaryd's 64 MiB bound),"lost" (ring
 *     full),"limited" (rate limit),"done" (all taken and read: the session is
 *     over),"snap"}; a session not read for 10 s is dropped
 *   {"cmd":"capture-stop","iface":"eth0","id":N}   the same counts; the session ends
 *
 * Replies:
 *   {"ok":false,"error":"one line naming the object and what to do","errno":22}
 *   {"ok":false,"error":"...","errno":13,"log":"the verifier's log"}   a refused start
 *   {"ok":true}                                 commands
 *   {"ok":true,"interfaces":[IFACE...],"metrics":"listening"}   status
 *
 * IFACE:
 *   {"iface":"eth0","mode":"native","managed":true,"error":null,
 *    "frags":false (the dispatcher is multi-buffer, SEC("xdp.frags") versions
 *    only), "mtu":1500 (the interface's MTU as canaryd read it, again after
 *    every link message; 0 not read), "mtu_fit":"ok" (the dispatcher against
 *    that MTU, rollout/frags.h: "ok", "needs_frags": single-buffer in native
 *    mode above 3506, "frags_unneeded"; null without a dispatcher),
 *    "stable":{"object":"...","program":"..."},
 *    "rollout":null | {
 *      "id":"eth0-1700000000000",  "seed":N (the flow-hash seed, new per rollout),
 *      "phase":"progressing",  "reason":"...",
 *      "candidate":{"object":"...","program":"..."},
 *      "step":2, "steps":5, "share_pct":5.0, "shares_pct":[1,5,25,50,100],
 *      "step_elapsed_ms":1234, "step_min_ms":60000, "elapsed_ms":99999,
 *      "verdict":"inconclusive", "evidence":"one line",
 *      "exposure":{"candidate_packets_per_hour":F, "needed_packets_per_hour":F,
 *                  "unreachable":B (this step cannot reach its minimum packets
 *                  within max_step_time at this traffic: it will time out, never
 *                  roll back for it), "bad_reads":N, "bad_times":N},
 *      "tests":[{"metric":"drop","dir":"up","test":"harm","x_c":1,"x_s":2,"n_c":3,"n_s":4,
 *                "rate_c":0.1,"rate_s":0.1,"ratio":1.0,"rho":1.1,"stat":0.2,"threshold":5.3,
 *                "p":1.0,"decided":false}, ...],
 *      "totals":{"stable_packets":N,"candidate_packets":N,"candidate_aborted":N,...},
 *      "gate":null | {"name":"step","waiting_ms":N,"passed":false,"asking":true,
 *                     "last_answer":"not yet (HTTP 403)"}},
 *    "reads":N, "max_read_gap_ms":N,
 *    "read_interval_ms":200,
 *    "breaker":{"tripped":false,"bad":0,"trips":0},
 *    "versions":{"stable":VERSION,"candidate":VERSION}}
 *
 * VERSION (hash-split class, counters since the dispatcher was loaded, and
 * rates over the last interval):
 *   {"packets":N,"bytes":N,"aborted":N,"drop":N,"pass":N,"tx":N,"redirect":N,
 *    "invalid":N,"fallback":N,"pps":F,"drop_rate":F,"pass_rate":F,"abort_rate":F,
 *    "cost_ns_avg":F}
 * pps is taken over about the last second of reads, and is null until two
 * reads exist: "not measured yet", which 0 ("no traffic") is not.
 *
 * canaryctl exit codes with --wait: 0 promoted, 2 rolled back by the judge or
 * the circuit breaker, 3 aborted (or reverted) by an operator, 1 any error.
 *
 * Details clients rely on (canaryctl; canaryd/status.c writes them):
 * - "phase" is rollout_phase__name(): "idle", "progressing", "paused" while
 *   the rollout goes on; "promoted" (exit 0), "rolled_back" (2), "aborted"
 *   (3, also after a revert), "failed" (1) are terminal.
 * - "step" counts from 1: step 2 of 5 runs at shares_pct[1].
 * - "drop_rate", "pass_rate", "abort_rate" are fractions (0..1) of the
 *   interval's packets, not per second; clients show them as percent.
 * - "steps" is a string of percentages (fractions allowed); "step_time_ms" is
 *   each step's minimum bake (status "step_min_ms"). "candidate" should be an
 *   absolute path (canaryd has its own working directory; canaryctl makes a
 *   relative one absolute).
 * - "verdict"/"evidence" may be empty before the first judgement; "breaker",
 *   "versions" and "read_interval_ms" (time between the last two counter
 *   reads) are absent until the first counter read.
 * - "reads" counts the counter reads since canaryd started, "max_read_gap_ms"
 *   is the longest time between two consecutive ones (0 before the second):
 *   what a stalled loop would show, about "read_interval_ms" when nothing
 *   stalls it.
 * - "gate" names the approval gate the rollout waits on ("start", "step",
 *   "promote"; null when none): "passed" once it passed while paused (resume
 *   goes on), "asking" while canaryd is asking its webhook (false after the
 *   gate failed with on_failure = hold: resume asks again), "last_answer" is
 *   "not yet (HTTP 403)", "failed (HTTP 503 after 3 retries)" etc. or empty.
 *   canaryctl shows "waiting for gate NAME".
 * - A command's reply is sent after canaryd has applied it: a status request
 *   on the next connection sees its effect (after "start", the new rollout).
 *   canaryctl --wait relies on this, polling {"cmd":"status","iface":...}.
 */
#ifndef CANARY_PROTO_H
#define CANARY_PROTO_H

#define CANARY_DEFAULT_SOCKET "/run/canaryd.sock"
#define CANARY_PROTO_MAX_LINE (1 << 20)

enum canaryctl_exit {
	CANARYCTL_EXIT_PROMOTED = 0,
	CANARYCTL_EXIT_ERROR = 1,
	CANARYCTL_EXIT_ROLLED_BACK = 2,
	CANARYCTL_EXIT_ABORTED = 3,
};

/*
 * Status keys: canaryd's status.c writes them, canaryctl and the tests
 * read them; nowhere else spells them.
 */
/* The reply. */
#define CANARY_K_OK "ok"
#define CANARY_K_ERROR "error"
#define CANARY_K_ERRNO "errno"
#define CANARY_K_LOG "log"		/* a refused candidate: the verifier's log */
#define CANARY_K_INTERFACES "interfaces"
#define CANARY_K_WAITING "waiting"	/* configured interfaces that do not exist */
#define CANARY_K_METRICS "metrics"	/* status: "listening", "unbound", "off" */
/* One interface. */
#define CANARY_K_IFACE "iface"
#define CANARY_K_MODE "mode"
#define CANARY_K_FRAGS "frags"
#define CANARY_K_MTU "mtu"
#define CANARY_K_MTU_FIT "mtu_fit"
#define CANARY_K_MANAGED "managed"
#define CANARY_K_LINK "link"		/* waiting, managed, lost, detached */
#define CANARY_K_IFINDEX "ifindex"	/* followed; 0 while waiting */
#define CANARY_K_IFNAME "ifname"	/* its name now (a rename is followed) */
#define CANARY_K_STABLE "stable"
#define CANARY_K_CONFIGURED_STABLE "configured_stable"
#define CANARY_K_CANDIDATE "candidate"
#define CANARY_K_OBJECT "object"
#define CANARY_K_PROGRAM "program"
#define CANARY_K_ROLLOUT "rollout"
#define CANARY_K_READ_INTERVAL_MS "read_interval_ms"
#define CANARY_K_READS "reads"
#define CANARY_K_MAX_READ_GAP_MS "max_read_gap_ms"
#define CANARY_K_BREAKER "breaker"
#define CANARY_K_TRIPPED "tripped"
#define CANARY_K_BAD "bad"
#define CANARY_K_TRIPS "trips"
#define CANARY_K_VERSIONS "versions"
/*
 * "maps": {"stable"|"candidate"|"previous": {"dir": PATH, "maps":
 * {NAME: PATH}}}: each loaded version's maps, pinned by name.
 */
#define CANARY_K_MAPS "maps"
/* One version (under "versions"); its verdicts are named by canary_verdict_name(). */
#define CANARY_K_PACKETS "packets"
#define CANARY_K_BYTES "bytes"
#define CANARY_K_FALLBACK "fallback"
#define CANARY_K_PPS "pps"
#define CANARY_K_DROP_RATE "drop_rate"
#define CANARY_K_PASS_RATE "pass_rate"
#define CANARY_K_ABORT_RATE "abort_rate"
#define CANARY_K_COST_NS_AVG "cost_ns_avg"
/* The rollout. */
#define CANARY_K_ID "id"
#define CANARY_K_SEED "seed"
/* rollout.exposure: the step's exposure at this traffic, and skipped reads. */
#define CANARY_K_EXPOSURE "exposure"
#define CANARY_K_CAND_PPH "candidate_packets_per_hour"
#define CANARY_K_NEED_PPH "needed_packets_per_hour"
#define CANARY_K_UNREACHABLE "unreachable"
#define CANARY_K_BAD_READS "bad_reads"
#define CANARY_K_BAD_TIMES "bad_times"		/* the rollout's flow-hash seed */
#define CANARY_K_PHASE "phase"
#define CANARY_K_REASON "reason"
#define CANARY_K_STEP "step"
#define CANARY_K_STEPS "steps"
#define CANARY_K_SHARE_PCT "share_pct"
#define CANARY_K_SHARES_PCT "shares_pct"
#define CANARY_K_STEP_ELAPSED_MS "step_elapsed_ms"
#define CANARY_K_STEP_MIN_MS "step_min_ms"
#define CANARY_K_ELAPSED_MS "elapsed_ms"
#define CANARY_K_VERDICT "verdict"
#define CANARY_K_EVIDENCE "evidence"
#define CANARY_K_TESTS "tests"
#define CANARY_K_TOTALS "totals"
/*
 * The rollout's pin rule set: "pins": {"rules": ["dst 198.18.5.0/24 -> candidate", ...],
 * "pinned": {"stable": {packets, verdicts...}, "candidate": {...}, "sets": [{"set": N,
 * "name": "plain" (set 0, the operator's pin rules) or the entity's name, "stable":
 * {packets, verdicts...}, "candidate": {...}}, ...]}}: the packets the rules sent to
 * each version since the rollout's start (or canaryd's start), all rules together and
 * per rule set (the sets that have rules installed or counted packets).
 */
#define CANARY_K_PINS "pins"
#define CANARY_K_RULES "rules"
#define CANARY_K_PINNED "pinned"
#define CANARY_K_SETS "sets"
#define CANARY_K_SET "set"
#define CANARY_K_COUNTERS "counters"
#define CANARY_SET_PLAIN_NAME "plain"
/*
 * rollout.shadow (null without a shadow phase or live pairing): {"active": bool, "duration_ms",
 * "elapsed_ms", "decision": undecided|harmful|safe|weak, "samples", "fidelity",
 * "replay_errors", "harm": "drop_up: pass->drop N of M samples ... e.g. FRAME"
 * (empty unless harmful), "cells": [{"stable": VERDICT, "candidate": VERDICT,
 * "samples": N, "examples": [{"index": I, "frame": SUMMARY}]}] (the matrix's
 * non-zero cells), "rewritten": N, "sampler": {picked, limited, lost, sent}}.
 * With plan.shadow_live, "live": {"active": bool, "every", "rate", "alpha",
 * "decision" (this step's latest, as the engine has it), "loaded": bool (the
 * instances), "step" (live steps begun, the warm-up one), "samples",
 * "stable_flows", "candidate_flows", "fidelity", "harm", "cells",
 * "rewritten" (over every live step: the harm test's evidence), "this_step":
 * {"samples", "stable_flows", "candidate_flows", "fidelity", "decision"} (the
 * safety test's), "replay_errors", "budget_ticks" (ticks whose replay stopped
 * at its time bound)}, null without. A rollout with live pairing and no
 * shadow phase has "duration_ms": 0, "live" and "sampler" only.
 */
#define CANARY_K_SHADOW "shadow"
#define CANARY_K_LIVE "live"
#define CANARY_K_THIS_STEP "this_step"
#define CANARY_K_STABLE_FLOWS "stable_flows"
#define CANARY_K_CANDIDATE_FLOWS "candidate_flows"
#define CANARY_K_ACTIVE "active"
#define CANARY_K_DECISION "decision"
#define CANARY_K_SAMPLES "samples"

/*
 * capture limits, the client's and canaryd's: samples per session, the
 * sampler's default rate (per second per CPU), and how long a session may
 * go unread before canaryd drops it.
 */
#define CANARY_CAPTURE_COUNT_MAX 100000
#define CANARY_CAPTURE_RATE_DEFAULT 10000
#define CANARY_CAPTURE_IDLE_MS 10000
#define CANARY_K_FIDELITY "fidelity"
#define CANARY_K_HARM "harm"
#define CANARY_K_CELLS "cells"
#define CANARY_K_EXAMPLES "examples"
/*
 * rollout.entities (empty without entity steps): per entity step, in plan
 * order, {"name", "rules": ["src 198.18.1.0/24", ...], "state":
 * pending|baseline|judging|passed|harmful, "baseline": {"packets", "drop"}
 * (its own pinned traffic under stable), "before", "after": {"packets",
 * "drop"} (what its judge measured: its own rule set's traffic, on stable
 * before and on the candidate after its rules moved; "before" is "baseline"),
 * "counters": {"stable": {packets, verdicts...}, "candidate": {...}} (its rule
 * set's verdicts per version since the rollout's start), "ratio"
 * (after/before, the split control divided out; null before a judgement),
 * "evidence": one line}.
 */
#define CANARY_K_ENTITIES "entities"
#define CANARY_K_STATE "state"
#define CANARY_K_BASELINE "baseline"
#define CANARY_K_BEFORE "before"
#define CANARY_K_AFTER "after"
#define CANARY_K_RATIO "ratio"
#define CANARY_K_GATE "gate"
#define CANARY_K_NAME "name"
#define CANARY_K_WAITING_MS "waiting_ms"
#define CANARY_K_PASSED "passed"
#define CANARY_K_ASKING "asking"
#define CANARY_K_LAST_ANSWER "last_answer"

#endif
