#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A real Prometheus (Debian's) scraping canaryd during a live rollout: it
# runs in the DUT namespace on 127.0.0.1:9090 (loopback of a namespace the
# test made), with its own data dir, and loads examples/prometheus/canaryd-rules.yml.
#   - the scrape target is up (/api/v1/targets) and `up` is 1;
#   - every metric family of README's "Metrics" table is in Prometheus
#     (/api/v1/label/__name__/values);
#   - promtool check metrics is clean on a scrape;
#   - promtool check rules passes, Prometheus loaded every rule (health ok);
#   - every PromQL expression of the rules and of
#     examples/grafana/canaryd-dashboard.json is accepted by /api/v1/query
#     (Grafana's $variables replaced by values), and so is every query of
#     examples/kubernetes.md (its rollback gates read > 0 after a rollback);
#   - the dashboard JSON is well formed as Grafana reads it (ids, grid, targets);
#   - a rolled-back rollout fires CanaryRolloutRolledBack; a stopped canaryd
#     puts CanarydDown pending.
set -u
cd "$(dirname "$0")/.."
. tests/lib/testbed.sh
. tests/lib/canaryd_bed.sh

for tool in prometheus promtool; do
	command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh installs prometheus)"; exit 1; }
done
RULES=examples/prometheus/canaryd-rules.yml
DASH=examples/grafana/canaryd-dashboard.json
PROM=http://127.0.0.1:9090

cb_create 5,25,50,100 60s 200ms || fail "cannot create the test bed"
cb_traffic 30000
cb_start_daemon || fail "canaryd did not come up"
IF=$TB_DUT_IF
echo "$(prometheus --version 2>&1 | sed -n 1p)"

promtool check rules "$RULES" || fail "promtool check rules $RULES"

# The dashboard as Grafana reads it (no Grafana in Debian): unique panel
# ids, panels inside the 24-column grid and not overlapping, every query
# target with a refId, an expr and the dashboard's data source variable.
python3 - "$DASH" <<'PY' || fail "$DASH is not a well-formed dashboard"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["title"] and d["uid"] and isinstance(d["schemaVersion"], int), "title, uid, schemaVersion"
names = [v["name"] for v in d["templating"]["list"]]
assert names == ["datasource", "instance", "interface"], names
ids, cells = set(), {}
for p in d["panels"]:
    assert p["id"] not in ids, "duplicate panel id %d" % p["id"]
    ids.add(p["id"])
    g = p["gridPos"]
    assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            assert (x, y) not in cells, "%s overlaps %s" % (p["title"], cells[(x, y)])
            cells[(x, y)] = p["title"]
    if p["type"] == "row":
        continue
    assert p["datasource"]["uid"] == "${datasource}", p["title"]
    assert p["targets"], "%s has no query" % p["title"]
    refs = [t["refId"] for t in p["targets"]]
    assert len(set(refs)) == len(refs), p["title"]
    for t in p["targets"]:
        assert t["expr"].strip() and t["datasource"]["uid"] == "${datasource}", p["title"]
print("dashboard: %d panels, %d queries" % (len(ids), sum(len(p.get("targets", [])) for p in d["panels"])))
PY

# A rollout with evidence, so the judge's families exist.
$CTL start "$IF" $B/versions/fw_v2.bpf.o >/dev/null || fail "cannot start the rollout"
cb_wait_status "$IF" '((.rollout.tests // []) | length > 0) and .versions.candidate.packets > 2000' \
	30 "the judge's evidence" || fail "no judge evidence"

# promtool check metrics: lint of one scrape (exit 0, nothing printed).
tb_dut curl -sf -m 5 http://127.0.0.1:9464/metrics >"$CB_TMP/scrape.txt" || fail "cannot scrape canaryd"
lint=$(promtool check metrics <"$CB_TMP/scrape.txt" 2>&1)
lrc=$?
[ $lrc -eq 0 ] && [ -z "$lint" ] || fail "promtool check metrics (exit $lrc): $lint"
echo "promtool check metrics: clean on a scrape of $(wc -l <"$CB_TMP/scrape.txt") lines"

cp "$RULES" "$CB_TMP/canaryd-rules.yml"
cat >"$CB_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$CB_TMP/canaryd-rules.yml"]
scrape_configs:
  - job_name: canaryd
    static_configs:
      - targets: ["127.0.0.1:9464"]
YML
promtool check config "$CB_TMP/prometheus.yml" >/dev/null || fail "promtool check config"
tb_bg "$TB_DUT" prometheus --config.file="$CB_TMP/prometheus.yml" \
	--storage.tsdb.path="$CB_TMP/prom-data" --web.listen-address=127.0.0.1:9090 \
	>"$CB_TMP/prometheus.log" 2>&1
PROM_PID=${TB_PIDS[-1]}
pfail() {
	sed 's/^/  prometheus| /' "$CB_TMP/prometheus.log" | tail -n 20 >&2
	fail "$@"
}
api() { tb_dut curl -sf -m 5 "$PROM$1"; }
# query EXPR: the query API's reply to an instant query.
query() { tb_dut curl -s -m 10 -G "$PROM/api/v1/query" --data-urlencode "query=$1"; }
# wait_api PATH JQ SECS WHAT: poll an API path until the jq expression holds.
wait_api() {
	local deadline=$(($(date +%s) + $3)) last
	while :; do
		kill -0 "$PROM_PID" 2>/dev/null || pfail "prometheus exited"
		last=$(api "$1" 2>/dev/null)
		jq -e "$2" >/dev/null 2>&1 <<<"$last" && return 0
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.5
	done
	echo "timed out after $3 s waiting for $4: $(head -c 600 <<<"$last")" >&2
	return 1
}
t0=$(date +%s.%N)
wait_api /api/v1/targets '.data.activeTargets | map(select(.labels.job == "canaryd" and .health == "up")) | length == 1' \
	60 "the canaryd target up" || pfail "scrape target not up"
t1=$(date +%s.%N)
# The target's health and the stored sample are not the same instant.
deadline=$(($(date +%s) + 20))
until [ "$(query 'up{job="canaryd"}' | jq -r '.data.result[0].value[1]')" = 1 ]; do
	[ "$(date +%s)" -lt "$deadline" ] || pfail "up{job=\"canaryd\"} is not 1: $(query 'up')"
	sleep 0.5
done
echo "scrape target up after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, up == 1"

# The README's families: first column of the Metrics table; "_x" names
# continue the previous full name's prefix (canary_judge_statistic, _threshold);
# histograms are three series names.
# Families only a per-entity plan has series of ("entity steps only": this
# rollout has none) are checked by their HELP and TYPE in the scrape instead.
only_entities=$(awk '/^## Metrics/ { m = 1; next } /^## / { m = 0 } m && /^\| `canary_/ && /entity steps only/' README.md |
	grep -o '^| `[a-z_]*`' | tr -d '|` ')
[ -n "$only_entities" ] || fail "no entity-steps-only family read from README"
for f in $only_entities; do
	grep -q "^# TYPE $f counter$" "$CB_TMP/scrape.txt" && grep -q "^# HELP $f " "$CB_TMP/scrape.txt" ||
		fail "$f: no HELP and TYPE in the scrape"
	grep -q "^$f{" "$CB_TMP/scrape.txt" && fail "$f has series in a rollout without entity steps"
done
echo "entity-steps-only families declared, without series here: $only_entities"
families=$(awk '/^## Metrics/ { m = 1; next } /^## / { m = 0 } m && /^\| `canary_/ && !/entity steps only/' README.md |
	while IFS='|' read -r _ names type _; do
		prefix=
		for n in $(grep -o '`[a-z_]*`' <<<"$names" | tr -d '`'); do
			case $n in
			_*) n=$prefix$n ;;
			*) prefix=$(sed -E 's/_[a-z]+$//' <<<"$n") ;;
			esac
			if [[ $type == *histogram* ]]; then
				echo "${n}_bucket ${n}_sum ${n}_count"
			else
				echo "$n"
			fi
		done
	done | tr ' ' '\n')
nfam=$(wc -w <<<"$families")
[ "$nfam" -ge 25 ] || fail "only $nfam families read from README: $families"
present() {
	local names f
	names=$(api /api/v1/label/__name__/values | jq -r '.data[]') || return 1
	missing=
	for f in $families; do
		grep -qx "$f" <<<"$names" || missing="$missing $f"
	done
	[ -z "$missing" ]
}
deadline=$(($(date +%s) + 30))
until present; do
	[ "$(date +%s)" -lt "$deadline" ] || pfail "families missing in Prometheus:$missing"
	sleep 0.5
done
echo "all $nfam metric families of README in Prometheus"

# Rules: loaded, evaluated, healthy.
wait_api /api/v1/rules '[.data.groups[].rules[]] | length > 0 and all(.health == "ok")' 30 \
	"every rule evaluated, health ok" || pfail "rules not healthy"
nrules=$(api /api/v1/rules | jq '[.data.groups[].rules[]] | length')
echo "prometheus loaded $nrules rules, all health ok"

# Every expression: the rules' and the dashboard's, Grafana variables
# substituted as Grafana does before sending the query.
python3 -c 'import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(" ".join(r["expr"].split()))' "$RULES" >"$CB_TMP/exprs" || fail "cannot read $RULES"
nr=$(wc -l <"$CB_TMP/exprs")
jq -r '.panels[] | .targets[]? | .expr' "$DASH" |
	sed 's/\$__rate_interval/1m/g; s/\$__range/5m/g; s/\$__interval/15s/g; s/\$instance/.*/g; s/\$interface/.*/g' \
	>>"$CB_TMP/exprs" || fail "cannot read $DASH"
nd=$(($(wc -l <"$CB_TMP/exprs") - nr))
[ "$nr" -ge 10 ] && [ "$nd" -ge 20 ] || fail "only $nr rule and $nd dashboard expressions"
nonempty=0
while IFS= read -r e; do
	r=$(query "$e")
	[ "$(jq -r .status <<<"$r")" = success ] || fail "query API refused: $e: $r"
	[ "$(jq '.data.result | length' <<<"$r")" -gt 0 ] && nonempty=$((nonempty + 1))
done <"$CB_TMP/exprs"
echo "query API accepted all $nr rule and $nd dashboard expressions ($nonempty with data now)"
grep -q '\$' <<<"$(jq -r '.panels[] | .targets[]? | .expr' "$DASH" | sed 's/\$__rate_interval//g; s/\$__range//g; s/\$instance//g; s/\$interface//g')" &&
	fail "the dashboard uses a variable the test does not substitute"
# The dashboard's template variables query label values of a real family.
[ "$(query 'count(canary_interface_managed)' | jq -r '.data.result[0].value[1]')" = 1 ] ||
	fail "canary_interface_managed (the dashboard's variables) missing"

# A rollback fires CanaryRolloutRolledBack (for: 0).
$CTL abort "$IF" >/dev/null || fail "cannot abort"
timeout 120 $CTL start "$IF" $B/versions/fw_blackhole.bpf.o --step-time 2s --wait >/dev/null
rc=$?
[ $rc -eq 2 ] || fail "black-holing candidate: --wait exited $rc, want 2"
wait_api /api/v1/alerts ".data.alerts | map(select(.labels.alertname == \"CanaryRolloutRolledBack\" and
	.labels.interface == \"$IF\" and .state == \"firing\")) | length == 1" 30 \
	"CanaryRolloutRolledBack firing" || pfail "no rollback alert"
firing=$(api /api/v1/alerts | jq -r '[.data.alerts[] | select(.state == "firing") | .labels.alertname] | unique | join(" ")')
echo "after a rollback, firing: $firing"

# examples/kubernetes.md: every `query:` of its Argo Rollouts and Flagger
# templates (templating filled in) is accepted; the rollbacks gates see the
# rollback.
python3 - examples/kubernetes.md "$IF" >"$CB_TMP/k8s-queries" <<'PY' || fail "cannot read examples/kubernetes.md"
import re, sys, yaml
text, iface = open(sys.argv[1]).read(), sys.argv[2]
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "query" and isinstance(v, str):
                yield v
            else:
                yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
    try:
        docs = list(yaml.safe_load_all(block))
    except yaml.YAMLError:
        continue  # a fragment (the Canary's analysis excerpt)
    for q in (q for d in docs for q in walk(d)):
        q = q.replace("{{args.interface}}", iface).replace("{{ interval }}", "5m")
        print(" ".join(q.split()))
PY
nk=$(wc -l <"$CB_TMP/k8s-queries")
[ "$nk" -ge 4 ] || fail "only $nk queries found in examples/kubernetes.md"
while IFS= read -r e; do
	r=$(query "$e")
	[ "$(jq -r .status <<<"$r")" = success ] || fail "query API refused kubernetes.md's $e: $r"
	if [[ $e == *rolled_back* ]]; then
		jq -e '.data.result[0].value[1] | tonumber > 0.5' >/dev/null <<<"$r" ||
			fail "kubernetes.md's rollback gate does not see the rollback: $e: $r"
	fi
done <"$CB_TMP/k8s-queries"
echo "query API accepted all $nk queries of examples/kubernetes.md; its rollback gates read > 0 after the rollback"

# canaryd gone: the scrape fails, CanarydDown goes pending (for: 1m).
kill "$CB_DAEMON_PID" && wait "$CB_DAEMON_PID" 2>/dev/null
wait_api /api/v1/alerts '.data.alerts | map(select(.labels.alertname == "CanarydDown" and
	.state == "pending")) | length == 1' 30 "CanarydDown pending" || pfail "no CanarydDown alert"
echo "canaryd stopped: up == $(query 'up{job="canaryd"}' | jq -r '.data.result[0].value[1]'), CanarydDown pending"
echo PASS
