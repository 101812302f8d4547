#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The pipeline examples in examples/ci/ must not drift from canaryctl:
#   (a) both files are valid YAML of the expected shape (python3-yaml);
#   (b) each has a preflight and a "start ... --wait" command line, and the
#       script around start gates on exit codes 0, 2, 3 and the rest;
#   (c) every canaryctl command line in them, with the file's own variables
#       (paths replaced by test files), is accepted by the real binary:
#       preflight runs for real on a capture written here (fw_v1 against
#       itself: exit 0); the daemon commands are pointed at a socket that
#       doesn't exist and must get past argument parsing to "cannot connect"
#       (a renamed option or a bad --steps/--step-time value would stop them
#       at a usage error instead).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${CANARY_BUILD:-$PWD/build}

fail() {
	echo "examples_ci: FAIL: $*" >&2
	exit 1
}

for f in canaryctl versions/fw_v1.bpf.o; do
	[ -e "$B/$f" ] || fail "$B/$f is missing: run make"
done
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing: scripts/install-deps.sh"

tmp=$(mktemp -d /tmp/canary-examples-ci.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A small Ethernet capture: UDP and TCP between the example subnets, IPv4.
python3 - "$tmp/traffic.pcap" <<'EOF'
import socket, struct, sys

def frame(src, dst, proto, sport, dport):
    if proto == 17:
        l4 = struct.pack('!HHHH', sport, dport, 16, 0) + b'x' * 8
    else:
        l4 = struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 0x50, 2, 1024, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + l4

frames = [frame('198.18.1.5', '198.18.2.10', 17, 1234, 53),
          frame('198.18.3.5', '198.18.2.10', 6, 1234, 443),
          frame('198.18.4.5', '198.18.2.10', 17, 1234, 443),
          frame('198.18.4.5', '198.18.3.10', 6, 1234, 80)]
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(frames):
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(p), len(p)) + p)
EOF

# Parse one example: its variables as shell exports in $tmp/NAME.env, its
# canaryctl command lines in $tmp/NAME.cmds.
parse() {
	python3 - "$1" "$2" "$tmp/$2" <<'EOF'
import re, shlex, sys, yaml

path, kind, out = sys.argv[1:]
with open(path) as f:
    doc = yaml.safe_load(f)
if not isinstance(doc, dict):
    sys.exit(f"{path}: not a YAML mapping")

scripts = []
if kind == 'github':
    # YAML 1.1 reads the key "on" as true.
    if 'on' not in doc and True not in doc:
        sys.exit(f"{path}: no 'on' trigger")
    env = doc.get('env') or {}
    jobs = doc.get('jobs')
    if not isinstance(jobs, dict) or not jobs:
        sys.exit(f"{path}: no jobs")
    for name, job in jobs.items():
        if 'runs-on' not in job or not isinstance(job.get('steps'), list):
            sys.exit(f"{path}: job {name} lacks runs-on or steps")
        scripts += [s['run'] for s in job['steps'] if 'run' in s]
else:
    env = doc.get('variables') or {}
    if not isinstance(doc.get('stages'), list):
        sys.exit(f"{path}: no stages")
    for name, job in doc.items():
        if not isinstance(job, dict) or 'script' not in job:
            continue
        if job.get('stage') not in doc['stages']:
            sys.exit(f"{path}: job {name} has stage {job.get('stage')} not in stages")
        for key in ('before_script', 'script', 'after_script'):
            scripts += job.get(key) or []

cmds = []
for s in scripts:
    if not isinstance(s, str):
        sys.exit(f"{path}: a script entry is not a string: {s!r}")
    lines = [l.strip() for l in s.splitlines()]
    for l in lines:
        if re.match(r'build/canaryctl\s', l):
            cmds.append(l)
    if any(re.match(r'build/canaryctl start\s.*--wait\b', l) for l in lines):
        # The gate: each exit code has its arm, so none is mistaken for another.
        for arm in ('0)', '2)', '3)', '*)'):
            if not any(l.startswith(arm) for l in lines):
                sys.exit(f"{path}: the script with 'canaryctl start --wait' has no '{arm}' arm")
if not any(' preflight ' in c for c in cmds):
    sys.exit(f"{path}: no 'build/canaryctl preflight' command line")
if not any(re.search(r' start .*--wait', c) for c in cmds):
    sys.exit(f"{path}: no 'build/canaryctl start ... --wait' command line")
with open(out + '.env', 'w') as f:
    for k, v in env.items():
        f.write(f"export {k}={shlex.quote(str(v))}\n")
with open(out + '.cmds', 'w') as f:
    f.write('\n'.join(cmds) + '\n')
EOF
}

parse examples/ci/github-actions.yml github || fail "examples/ci/github-actions.yml (above)"
parse examples/ci/gitlab-ci.yml gitlab || fail "examples/ci/gitlab-ci.yml (above)"

ncmds=0
for kind in github gitlab; do
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		ncmds=$((ncmds + 1))
		set +e
		(
			# shellcheck disable=SC1090
			source "$tmp/$kind.env"
			export STABLE_OBJ="$B/versions/fw_v1.bpf.o" CANDIDATE_OBJ="$B/versions/fw_v1.bpf.o"
			export CAPTURE="$tmp/traffic.pcap" DEPLOY_DIR="$tmp/deploy"
			export GITHUB_SHA=0123abc CI_COMMIT_SHA=0123abc
			export CANARYD_SOCKET="$tmp/no-daemon.sock"
			eval "${line/#build\/canaryctl/\"\$B/canaryctl\"}"
		) >"$tmp/out" 2>"$tmp/err"
		rc=$?
		set -e
		case $line in
		*" preflight "*)
			if [ "$rc" -ne 0 ] || ! grep -q "within (exit 0)" "$tmp/out"; then
				cat "$tmp/out" "$tmp/err" >&2
				fail "$kind: '$line' exited $rc, want 0 (fw_v1 against itself)"
			fi
			;;
		*)
			if [ "$rc" -ne 1 ] || ! grep -q "cannot connect to $tmp/no-daemon.sock" "$tmp/err"; then
				cat "$tmp/err" >&2
				fail "$kind: '$line' did not get past argument parsing (exit $rc)"
			fi
			;;
		esac
		echo "ok ($kind): $line"
	done <"$tmp/$kind.cmds"
done
[ "$ncmds" -ge 6 ] || fail "only $ncmds canaryctl command lines found in the examples"
echo "examples_ci: $ncmds command lines accepted"
