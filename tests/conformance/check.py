#!/usr/bin/env python3
"""Compares a conformance run with the expected-failure list and prints the per-script table.

Inputs: the runner's results.tsv (config, script, seconds) and, per script, the suite's summary
(`run.sh` output) and full log in OUT/CONFIG/. With --expected it fails (exit 1) when a probe
fails that the list does not name, and when a listed probe ran and passed (the list only
shrinks). With --complete it also reports list entries for scripts scripts.list does not run.

expected-failures.list: groups, each opened by a line "== REASON" (one line: why these fail),
then entries "CONFIG SCRIPT PROBE" (PROBE is the probe's name as the script prints it; a
trailing '*' matches every probe starting with the text before it; '*' alone, every probe of
the script, and "<script error>" a script that ended without a result). In a group whose reason
starts with "flaky:" a probe may pass or fail. "(not run)" as PROBE records a script that
scripts.list leaves out, and why.
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

SCRIPT_ERROR = "<script error>"
NOT_RUN = "(not run)"
# How scripts announce a probe: `name ...`, or `"name" repeat N...` in the repeating ones.
PROBE_START = re.compile(r"^(?:(\S.*) \.\.\.|\"(.*)\" repeat \d+\.\.\.)$")


def parse_expected(path):
    """(config, script) -> [(pattern, reason, line number)]."""
    entries = defaultdict(list)
    reason = None
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("=="):
            reason = line[2:].strip()
            continue
        fields = line.split(None, 2)
        if len(fields) != 3 or reason is None:
            sys.exit(f"{path}:{number}: expected 'CONFIG SCRIPT PROBE' under a '== REASON' line")
        entries[(fields[0], fields[1])].append((fields[2], reason, number))
    return entries


def matches(pattern, probe):
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return probe.startswith(pattern[:-1])
    return probe == pattern


def unquote(name):
    """The FAILED block prints Python reprs: 'name' or "name"."""
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1].replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    return name


def read_run(out, config, script):
    """(pass, fail, rc, failing probe names, probe names that ran)."""
    summary = (out / config / f"{script}.summary").read_text(errors="replace")
    first = summary.splitlines()[0] if summary else ""
    m = re.match(r"\S+: pass (\S+) fail (\S+)(?: \(timed out\))? \(rc (\d+)\)", first)
    passed, failed, rc = (m.group(1), m.group(2), int(m.group(3))) if m else ("?", "?", -1)
    log_path = out / config / f"{script}.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    ran = {m.group(1) or m.group(2) for m in map(PROBE_START.match, log.splitlines()) if m}
    failing = set()
    in_block = False
    for line in log.splitlines():
        if line.startswith("FAILED:"):
            in_block = True
        elif in_block and line.startswith("\t"):
            failing.add(unquote(line.strip()))
        elif in_block:
            in_block = False
    if rc != 0 and not failing or "(timed out)" in first:
        failing.add(SCRIPT_ERROR)
    return passed, failed, rc, failing, ran


def check(args):
    out = Path(args.out)
    expected = parse_expected(args.expected) if args.expected else None
    rows, unexpected, now_pass = [], [], []
    totals = [0, 0]
    for line in Path(args.results).read_text().splitlines():
        config, script, seconds = line.split("\t")
        passed, failed, rc, failing, ran = read_run(out, config, script)
        for i, v in enumerate((passed, failed)):
            totals[i] += int(v) if v.isdigit() else 0
        row = [config, script, passed, failed, seconds]
        if expected is not None:
            entries = expected.get((config, script), [])
            known = {p for p in failing if any(matches(e[0], p) for e in entries if e[0] != NOT_RUN)}
            for probe in sorted(failing - known):
                unexpected.append(f"{config} {script} {probe}")
            for pattern, reason, number in entries:
                if reason.startswith("flaky:") or pattern == NOT_RUN:
                    continue
                if any(matches(pattern, p) for p in failing):
                    continue
                if pattern in ("*", SCRIPT_ERROR) or any(matches(pattern, p) for p in ran):
                    now_pass.append(f"line {number}: {config} {script} {pattern} ({reason})")
            row += [len(known), len(failing - known)]
        rows.append(row)

    header = ["config", "script", "pass", "fail", "secs"]
    if expected is not None:
        header += ["expected", "unexpected"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
    print(f"total: {totals[0]} probes passed, {totals[1]} failed")
    if expected is None:
        return 0

    if args.complete:
        listed = set()
        for line in Path(args.complete).read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2:
                listed.add((fields[0], fields[1]))
        for (config, script), entries in sorted(expected.items()):
            for pattern, reason, number in entries:
                if (pattern == NOT_RUN) == ((config, script) in listed):
                    why = "is in scripts.list" if pattern == NOT_RUN else "not in scripts.list"
                    now_pass.append(f"line {number}: {config} {script} {pattern} ({why})")
    for title, items in (("failing, not in expected-failures.list", unexpected),
                         ("listed as expected failures but passed: remove them", now_pass)):
        if items:
            print(f"\n{len(items)} {title}:")
            for item in items:
                print(f"  {item}")
    if unexpected or now_pass:
        print("\nconformance: FAILED (logs in %s)" % out)
        return 1
    print("\nconformance: passed (every failure is an expected one)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--expected")
    parser.add_argument("--complete")
    sys.exit(check(parser.parse_args()))


if __name__ == "__main__":
    main()
