#!/bin/sh
# tests/prometheus/check_dashboard.sh -- check the Grafana dashboard and the
# alerting rules against the metrics the service exports.
#
#   tests/prometheus/check_dashboard.sh NAMES [DASHBOARD [RULES]]
#
# NAMES: the metric families the service exports, one per line,
# histograms by their base name (as in the "# TYPE" lines of
# /zoom_events/metrics; tests/e2e/alerts.bats lists the families that have
# samples, tests/prometheus/metric_names.txt is a copy to try by hand).
# DASHBOARD defaults to deploy/grafana/zoom_events.json, RULES to
# deploy/prometheus/zoom_events.rules.yml.
#
# Checks: the dashboard is valid JSON (python3 -m json.tool); every metric
# name in its queries (panel targets, template variables) and in the rules'
# expressions is in NAMES (a name_bucket, _sum or _count matches a
# histogram's base name; Prometheus' own `up`, blackbox's `probe_success`
# and names recorded by the rules file itself are allowed too); with
# promtool, every dashboard query parses as PromQL.  Prints what is
# missing and exits 1, else prints "ok" and exits 0.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
names=${1:?usage: $0 NAMES [DASHBOARD [RULES]]}
dashboard=${2:-$root/deploy/grafana/zoom_events.json}
rules=${3:-$root/deploy/prometheus/zoom_events.rules.yml}

if ! python3 -m json.tool "$dashboard" >/dev/null; then
    echo "$dashboard: not valid JSON" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$names" "$dashboard" "$rules" "$tmp/exprs.yml" <<'EOF'
import json, re, sys

names_file, dashboard_file, rules_file, exprs_out = sys.argv[1:]

# Words in PromQL that are not metric names when not followed by "(".
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2"}
ALLOWED = {"up", "probe_success"}


def metric_names(expr):
    """The metric names an expression selects."""
    # Grafana's label_values(metric, label): only the metric is a name.
    expr = re.sub(r"label_values\(\s*([^,()]*?)\s*,[^()]*\)", r"\1", expr)
    expr = re.sub(r"label_values\([^()]*\)", " ", expr)
    # Strings, then comments, label matchers, ranges, grouping labels.
    expr = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    expr = re.sub(r"#[^\n]*", " ", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    found = set()
    for m in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*(?![\w:])", expr):
        word = m.group(0)
        if word.lower() in KEYWORDS or re.match(r"\s*\(", expr[m.end():]):
            continue        # a keyword, a function or an aggregation
        found.add(word)
    return found


def dashboard_exprs(path):
    """(where, expr) of every panel target and query variable."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title") or node.get("name") or where
            if isinstance(node.get("expr"), str):
                out.append((f"panel {title!r}", node["expr"]))
            for k, v in node.items():
                walk(v, title)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    d = json.load(open(path))
    walk(d.get("panels", []), "")
    for var in d.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        out.append((f"variable {var.get('name')!r}", q))
    return out


def rules_exprs(path):
    """(where, expr) of every rule, and the names recorded, from the YAML
    lines: `expr:` inline or as a block (| or >) of deeper lines."""
    out, records, name = [], set(), "?"
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)(?:-\s*)?(alert|record|expr):\s*(.*)$", line)
        i += 1
        if not m:
            continue
        indent, key, value = len(m.group(1)), m.group(2), m.group(3).strip()
        if key != "expr":
            name = value.strip("'\"")
            if key == "record":
                records.add(name)
            continue
        if value[:1] in "|>":
            block = []
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i])
                i += 1
            value = "\n".join(block)
        elif value[:1] in "'\"":
            value = value[1:-1]
        out.append((f"rule {name}", value))
    return out, records


exported = {l.strip() for l in open(names_file) if l.strip() and not l.startswith("#")}


def known(n):
    if n in exported or n in ALLOWED:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if n.endswith(suffix) and n[: -len(suffix)] in exported:
            return True
    return False


dash = dashboard_exprs(dashboard_file)
rules, records = rules_exprs(rules_file)
missing, used = [], set()
for where, expr in dash + rules:
    for n in sorted(metric_names(expr)):
        used.add(n if n in exported else re.sub(r"_(bucket|sum|count)$", "", n))
        if not known(n) and n not in records:
            missing.append(f"{n}  ({where})")
if not dash:
    missing.append("(no queries found in the dashboard)")
if not rules:
    missing.append("(no expressions found in the rules)")

# The dashboard's queries as recording rules, for promtool to parse.
with open(exprs_out, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (where, expr) in enumerate(dash):
        expr = re.sub(r"label_values\(\s*([^,()]*?)\s*,[^()]*\)", r"\1", expr)
        expr = expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
        f.write(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(expr)}\n")

for m in dict.fromkeys(missing):      # in order, once each
    print("missing:", m)
unshown = sorted(exported - used)
if unshown:
    print("note: exported but used by neither:", " ".join(unshown))
sys.exit(1 if missing else 0)
EOF

if command -v promtool >/dev/null 2>&1; then
    if ! out=$(promtool check rules "$tmp/exprs.yml" 2>&1); then
        printf '%s\n' "$out" | sed "s#$tmp/exprs.yml#dashboard queries#"
        echo "$dashboard: a query does not parse as PromQL" >&2
        exit 1
    fi
fi
echo ok
