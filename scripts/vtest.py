#!/usr/bin/env python3
"""Runs HAProxy's regression tests (VTest .vtc files) against Sluice, or against HAProxy, and
tells which pass, fail and are skipped; with --compare, both in one run, side by side.

    scripts/vtest.py DIR_OR_VTC...                  # against target/release/sluice
    scripts/vtest.py --compare DIR_OR_VTC...        # Sluice and the `haproxy` on PATH
    scripts/vtest.py --program /usr/sbin/haproxy DIR_OR_VTC...

The tests come from HAProxy's source tree (reg-tests/); they are not part of this repository.
The runner is VTest (`vtest`) or Varnish's `varnishtest`, which carries the same `haproxy`
support (`apt-get install -y varnish`). The program under test is passed as HAPROXY_PROGRAM and
as the first `haproxy` on PATH, as HAProxy's own scripts/run-regtests.sh does; the
`#REQUIRE_VERSION`, `#REQUIRE_OPTIONS` and `#EXCLUDE_TARGETS` headers are honoured the same way
(features come from the program's `-vv` output). Results: a TSV per program under --out.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_runner():
    for name in ("vtest", "varnishtest"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("neither vtest nor varnishtest is installed (apt-get install -y varnish)")


def collect(paths):
    tests = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                tests += [os.path.join(d, f) for f in files if f.endswith(".vtc")]
        elif p.endswith(".vtc"):
            tests.append(p)
    return sorted(set(os.path.abspath(t) for t in tests))


def program_facts(program):
    """The version (as a tuple) and feature names (+X) the program reports with -vv."""
    out = subprocess.run([program, "-vv"], capture_output=True, text=True).stdout
    version = (0,)
    m = re.search(r"HAProxy (?:version )?(\d+(?:\.\d+)*)", out)
    if m:
        version = tuple(int(x) for x in m.group(1).split("."))
    features = set(re.findall(r"\+([A-Z0-9_]+)", out))
    return version, features


def version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3]) or (0,)


def skip_reason(vtc, version, features):
    """Why run-regtests.sh would not run this test on this program, or None."""
    with open(vtc, errors="replace") as f:
        head = f.read(4096)
    for key, value in re.findall(r"^#(REQUIRE_VERSION|REQUIRE_OPTIONS?|EXCLUDE_TARGETS?)=(.*)$",
                                 head, re.M):
        value = value.strip()
        if key == "REQUIRE_VERSION" and version < version_tuple(value):
            return f"needs version {value}"
        if key.startswith("REQUIRE_OPTION"):
            for opt in value.split(","):
                opt = opt.strip()
                # HAProxy's names: OPENSSL, LUA, ZLIB|SLZ...
                if opt and not any(o in features for o in opt.split("|")):
                    return f"needs {opt}"
        if key.startswith("EXCLUDE_TARGET") and "linux" in value.split(","):
            return "excluded on linux"
    return None


def run_one(runner, program, shim, vtc, timeout):
    env = dict(os.environ)
    env["HAPROXY_PROGRAM"] = program
    env["PATH"] = shim + os.pathsep + env.get("PATH", "")
    started = time.monotonic()
    try:
        # `-Dno-htx=`: older tests write `${no-htx} option http-use-htx`, as HAProxy's own
        # scripts/run-regtests.sh defines it.
        proc = subprocess.run([runner, "-Dno-htx=", "-k", "-t", str(timeout), "-v", vtc],
                              cwd=os.path.dirname(vtc), env=env, capture_output=True,
                              text=True, errors="replace", timeout=timeout + 30)
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        log = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else ""
        return "failed", time.monotonic() - started, "runner timed out", log
    seconds = time.monotonic() - started
    if re.search(r"TEST .* passed", log):
        return "passed", seconds, "", log
    if re.search(r"TEST .* skipped", log):
        return "skipped", seconds, "feature", log
    # The first line VTest marks as an error is usually the cause.
    first = next((line for line in log.splitlines() if line.startswith("---- ")), "")
    return "failed", seconds, first[5:].strip(), log


def run_all(runner, program, tests, out, timeout, label, jobs=1):
    version, features = program_facts(program)
    shim = tempfile.mkdtemp(prefix="vtest-shim-")
    os.symlink(program, os.path.join(shim, "haproxy"))
    logs = os.path.join(out, label)
    os.makedirs(logs, exist_ok=True)
    base = os.path.commonpath(tests) if len(tests) > 1 else os.path.dirname(tests[0])

    def one(vtc):
        name = os.path.relpath(vtc, base)
        reason = skip_reason(vtc, version, features)
        if reason:
            result = ("skipped", 0.0, reason)
        else:
            status, seconds, why, log = run_one(runner, program, shim, vtc, timeout)
            result = (status, seconds, why)
            with open(os.path.join(logs, name.replace("/", "__") + ".log"), "w") as f:
                f.write(log)
        print(f"{label:<8} {result[0]:<8} {name}  {result[2]}", flush=True)
        return name, result

    # Tests take their ports from the OS and mostly wait: several run at once.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = dict(pool.map(one, tests))
    with open(os.path.join(out, f"{label}.tsv"), "w") as f:
        for name, (status, seconds, why) in sorted(results.items()):
            f.write(f"{name}\t{status}\t{seconds:.2f}\t{why}\n")
    shutil.rmtree(shim, ignore_errors=True)
    return results


def summary(label, results):
    counts = {s: sum(1 for r in results.values() if r[0] == s)
              for s in ("passed", "failed", "skipped")}
    return f"{label}: {counts['passed']} passed, {counts['failed']} failed, " \
           f"{counts['skipped']} skipped"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help=".vtc files or folders of them")
    ap.add_argument("--program", help="the program under test (default: Sluice's release build)")
    ap.add_argument("--compare", action="store_true",
                    help="also run the `haproxy` found on PATH and print the differences")
    ap.add_argument("--timeout", type=int, default=20, help="seconds per test (default 20)")
    ap.add_argument("--out", default="/tmp/sluice-vtest", help="where logs and TSVs go")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("-j", "--jobs", type=int, default=3, help="tests run at once (default 3)")
    a = ap.parse_args()

    runner = find_runner()
    tests = collect(a.paths)
    if not tests:
        sys.exit("no .vtc file found")
    program = a.program
    if program is None:
        if not a.no_build:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "sluice"], cwd=ROOT,
                           check=True)
        program = os.path.join(ROOT, "target", "release", "sluice")
    program = os.path.abspath(program)
    os.makedirs(a.out, exist_ok=True)

    label = os.path.basename(program)
    mine = run_all(runner, program, tests, a.out, a.timeout, label, a.jobs)
    lines = [summary(label, mine)]
    if a.compare:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            sys.exit("--compare needs haproxy on PATH (apt-get install -y haproxy)")
        theirs = run_all(runner, os.path.realpath(haproxy), tests, a.out, a.timeout, "haproxy",
                         a.jobs)
        lines.append(summary("haproxy", theirs))
        lines.append("tests where the two differ:")
        for name in sorted(mine):
            if mine[name][0] != theirs[name][0]:
                lines.append(f"  {name}: {label} {mine[name][0]}, haproxy {theirs[name][0]}"
                             f"  {mine[name][2] or theirs[name][2]}")
    print("\n".join(lines))
    print(f"logs and TSVs: {a.out}")


if __name__ == "__main__":
    main()
