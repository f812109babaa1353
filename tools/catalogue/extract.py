#!/usr/bin/env python3
"""Builds Sluice's keyword catalogue from HAProxy 3.4's configuration manual.

Usage: tools/catalogue/extract.py [path/to/configuration.txt]

Reads the manual (default: ../shared/reference/haproxy-3.4/configuration.txt relative to the
repository root) and tools/catalogue/overrides.txt (support statuses, removed keywords, the few
keywords the manual does not document), and writes the Rust tables under
crates/sluice-config/src/keywords/generated/. Output is deterministic: sorted, no timestamps.
Exits non-zero when an override names a keyword that does not exist, or when a keyword listed
as removed is still documented.
"""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_MANUAL = os.path.join(ROOT, "..", "shared", "reference", "haproxy-3.4", "configuration.txt")
OVERRIDES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "overrides.txt")
WRITTEN = []
OUT_DIR = os.path.join(ROOT, "crates", "sluice-config", "src", "keywords", "generated")

# Proxy keywords whose second word selects the meaning: first word -> (table id, Rust variant).
PROXY_SUB = {
    "option": ("option", "ProxyOption"),
    "timeout": ("timeout", "ProxyTimeout"),
    "stats": ("proxy-stats", "ProxyStats"),
    "http-check": ("http-check", "HttpCheck"),
    "tcp-check": ("tcp-check", "TcpCheck"),
    "tcp-request": ("tcp-request", "TcpRequest"),
    "tcp-response": ("tcp-response", "TcpResponse"),
    "capture": ("capture", "ProxyCapture"),
    "stick": ("stick", "ProxyStick"),
    "email-alert": ("email-alert", "EmailAlert"),
    "external-check": ("external-check", "ExternalCheck"),
    "compression": ("compression", "Compression"),
    "monitor": ("monitor", "Monitor"),
    "persist": ("persist", "Persist"),
    "rate-limit": ("rate-limit", "RateLimit"),
    "declare": ("declare", "Declare"),
}

# Sections other than global and proxies: table id -> (manual chapter, SectionKind variant).
SECTIONS = {
    "peers": ("11.2", "Peers"),
    "resolvers": ("5.3.2", "Resolvers"),
    "userlist": ("12.2", "Userlist"),
    "mailers": ("12.3", "Mailers"),
    "http-errors": ("12.4", "HttpErrors"),
    "ring": ("12.5", "Ring"),
    "log-forward": ("12.6", "LogForward"),
    "log-profile": ("8.3.5", "LogProfile"),
    "cache": ("6.2.1", "Cache"),
    "fcgi-app": ("10.1.1", "FcgiApp"),
    "crt-store": ("12.7", "CrtStore"),
    "traces": ("12.1", "Traces"),
    "acme": ("12.8", "Acme"),
    "healthcheck": ("12.9", "Healthcheck"),
    "namespace_list": (None, "NamespaceList"),
}

# Rule sets of the 4.3 matrix, in its column order: table id, Rust constant.
RULE_SETS = [
    ("quic-initial", "QUIC_INITIAL"),
    ("tcp-request-connection", "TCP_REQUEST_CONNECTION"),
    ("tcp-request-session", "TCP_REQUEST_SESSION"),
    ("tcp-request-content", "TCP_REQUEST_CONTENT"),
    ("tcp-response-content", "TCP_RESPONSE_CONTENT"),
    ("http-request", "HTTP_REQUEST"),
    ("http-response", "HTTP_RESPONSE"),
    ("http-after-response", "HTTP_AFTER_RESPONSE"),
]

# Matrix rows the manual gets wrong, where the keyword's own "May be used in sections" row
# (and HAProxy's parser) is right: the response-trailers option is a frontend one.
REFERENCE_WINS = {"option http-drop-response-trailers"}

# Proxy section bits, as in keywords::Sections.
DEFAULTS, FRONTEND, LISTEN, BACKEND, NAMED_ONLY = 1, 2, 4, 8, 16
ALL_PROXIES = DEFAULTS | FRONTEND | LISTEN | BACKEND

KEYWORD_RE = re.compile(r"^[a-z0-9][A-Za-z0-9_.+\-]*")


class Entry:
    """One keyword of one table."""

    def __init__(self, name):
        self.name = name
        self.synopsis = []
        self.sections = None  # proxy tables only
        self.deprecated = False
        self.experimental = False
        self.negatable = False
        self.acl_only = False
        self.sub = None

    def add_synopsis(self, text):
        text = " ".join(text.split())
        if text and text not in self.synopsis:
            self.synopsis.append(text)


class Table:
    def __init__(self, ident):
        self.ident = ident
        self.entries = {}

    def get(self, name):
        if name not in self.entries:
            self.entries[name] = Entry(name)
        return self.entries[name]


def fail(msg):
    sys.stderr.write("extract.py: " + msg + "\n")
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Reading the manual


def chapters(lines):
    """Maps chapter numbers ('4.2') to (first, end) line indexes of their text."""
    found = []
    for i, line in enumerate(lines[:-1]):
        m = re.match(r"^(\d+(?:\.\d+)*)\.\s+\S", line)
        if m and lines[i + 1].startswith("---") and i > 160:
            found.append((m.group(1), i))
    ranges = {}
    for k, (num, start) in enumerate(found):
        end = len(lines)
        for num2, start2 in found[k + 1:]:
            if not num2.startswith(num + "."):
                end = start2
                break
        ranges[num] = (start + 2, end)
    return ranges


def own_range(ranges, num):
    """The chapter's text up to its first sub-chapter."""
    first, end = ranges[num]
    for num2, (first2, _) in ranges.items():
        if num2.startswith(num + ".") and first <= first2 - 2 < end:
            end = first2 - 2
    return first, end


def indent(line):
    return len(line) - len(line.lstrip(" "))


def heading_groups(lines, first, end):
    """Keyword headings: lines at column 0 after a blank line, followed by a description
    indented by two spaces. Yields (heading lines, description lines)."""
    i = first
    while i < end:
        line = lines[i]
        if not line.strip() or line[0] in " \t" or (i > first and lines[i - 1].strip()):
            i += 1
            continue
        group = []
        j = i
        while j < end and lines[j].strip():
            if lines[j][0] not in " \t":
                group.append(lines[j].rstrip())
            elif indent(lines[j].expandtabs()) >= 4:
                # Continuation of a long synopsis, indented deeper than the description.
                group[-1] += " " + lines[j].strip()
            else:
                break
            j += 1
        # Some headings leave one blank line before their description.
        if j + 1 < end and not lines[j].strip() and indent(lines[j + 1].expandtabs()) in (2, 3):
            j += 1
        ok = (
            j < end
            and indent(lines[j].expandtabs()) in (2, 3)
            and lines[j].strip()
            and all(KEYWORD_RE.match(g) for g in group)
        )
        if not ok:
            i = j
            continue
        k = j
        while k < end and not (lines[k].strip() and lines[k][0] not in " \t"):
            k += 1
        yield group, lines[j:k]
        i = k


def strip_markers(text):
    """Removes '(deprecated)' and '[ EXPERIMENTAL ]' from a heading; returns the flags."""
    deprecated = "(deprecated)" in text
    experimental = "EXPERIMENTAL" in text
    text = text.replace("(deprecated)", " ")
    text = re.sub(r"\[\s*EXPERIMENTAL\s*\]", " ", text)
    return " ".join(text.split()), deprecated, experimental


def first_word(text):
    word = text.split()[0]
    return word.split("(")[0]


def add_headings(table, lines, first, end, exclude=()):
    for group, _ in heading_groups(lines, first, end):
        for heading in group:
            text, dep, exp = strip_markers(heading)
            negated = text.startswith("no ")
            if negated:
                text = text[3:]
            name = first_word(text)
            if name in exclude:
                continue
            e = table.get(name)
            if not negated:
                e.add_synopsis(text)
            e.deprecated |= dep
            e.experimental |= exp


def sections_from_description(desc):
    """Parses 'May be used in sections : defaults | frontend | listen | backend' rows."""
    for n, line in enumerate(desc):
        if "May be used in sections" in line and n + 1 < len(desc):
            cells = [c.strip() for c in desc[n + 1].split("|")]
            if len(cells) != 4:
                return None
            bits = 0
            for cell, bit in zip(cells, (DEFAULTS, FRONTEND, LISTEN, BACKEND)):
                if cell.startswith("yes"):
                    bits |= bit
                    if "(!)" in cell:
                        bits |= NAMED_ONLY
            return bits
    return None


# ---------------------------------------------------------------------------------------------
# Tables


def global_table(lines, ranges):
    table = Table("global")
    first, end = own_range(ranges, "3")
    for line in lines[first:end]:
        m = re.match(r"^   - (\S+)(.*)$", line)
        if m:
            e = table.get(m.group(1))
            e.deprecated |= "deprecated" in m.group(2)
    for num in ("3.1", "3.2", "3.3", "3.4"):
        add_headings(table, lines, *ranges[num])
    stats = Table("global-stats")
    for name in list(table.entries):
        if name == "stats":
            for syn in table.entries[name].synopsis:
                words = syn.split()
                if len(words) > 1:
                    stats.get(words[1]).add_synopsis(syn)
            table.entries[name].sub = "GlobalStats"
    return table, stats


def proxy_tables(lines, ranges):
    proxy = Table("proxy")
    subs = {first: Table(ident) for first, (ident, _) in PROXY_SUB.items()}

    def place(phrase):
        """The entry for a heading or matrix phrase, and the first-word entry."""
        negated = phrase.startswith("no ")
        if negated:
            phrase = phrase[3:]
        words = phrase.split()
        first = words[0].split("(")[0]
        top = proxy.get(first)
        entry = top
        if first in subs and len(words) > 1 and KEYWORD_RE.match(words[1]):
            top.sub = PROXY_SUB[first][1]
            entry = subs[first].get(words[1].split("(")[0])
        if negated:
            entry.negatable = True
        return top, entry

    # 4.2: headings and their "May be used in sections" rows.
    for group, desc in heading_groups(lines, *ranges["4.2"]):
        bits = sections_from_description(desc)
        for heading in group:
            text, dep, exp = strip_markers(heading)
            top, entry = place(text)
            if text.startswith("no "):
                continue
            entry.add_synopsis(text)
            if entry is not top:
                top.add_synopsis(text)
            entry.deprecated |= dep
            entry.experimental |= exp
            if bits is not None:
                entry.sections = (entry.sections or 0) | bits

    # 4.1: the keyword matrix (authoritative for sections where both exist).
    row = re.compile(
        r"^(\S(?:\S| (?! ))*)\s+(\(deprecated\))?\s*(\(\*\))?\s*([X-])( \(!\))?\s+([X-])\s+([X-])\s+([X-])\s*$"
    )
    for line in lines[ranges["4.1"][0]:ranges["4.1"][1]]:
        m = row.match(line)
        if not m:
            continue
        top, entry = place(m.group(1))
        bits = 0
        for mark, bit in zip((m.group(4), m.group(6), m.group(7), m.group(8)),
                             (DEFAULTS, FRONTEND, LISTEN, BACKEND)):
            if mark == "X":
                bits |= bit
        if m.group(5):
            bits |= NAMED_ONLY
        if m.group(1) in REFERENCE_WINS and entry.sections is not None:
            bits = entry.sections
        elif entry.sections is not None and entry.sections != bits:
            sys.stderr.write("note: matrix and reference differ for '%s'; using the matrix\n"
                             % m.group(1))
        entry.sections = bits
        entry.deprecated |= bool(m.group(2))
        entry.negatable |= bool(m.group(3))

    # A first word with sub-keywords is allowed wherever one of them is.
    for first, sub in subs.items():
        top = proxy.entries.get(first)
        if top is None:
            continue
        bits = 0
        for e in sub.entries.values():
            bits |= e.sections if e.sections is not None else ALL_PROXIES
        if top.sections is None:
            top.sections = bits
    for table in [proxy] + list(subs.values()):
        for e in table.entries.values():
            if e.sections is None:
                e.sections = ALL_PROXIES
    return proxy, subs


def action_tables(lines, ranges):
    tables = {ident: Table(ident) for ident, _ in RULE_SETS}
    row = re.compile(r"^([a-z][\w.-]*(?: [a-z][\w.-]*)?)(?:\s+\(deprecated\))?\s+((?:[X-]\s+){7}[X-])\s*$")
    for line in lines[ranges["4.3"][0]:ranges["4.3"][1]]:
        m = row.match(line)
        if not m:
            continue
        name = m.group(1).split()[0]
        for (ident, _), mark in zip(RULE_SETS, m.group(2).split()):
            if mark == "X":
                e = tables[ident].get(name)
                e.deprecated |= "(deprecated)" in line
    for group, desc in heading_groups(lines, *ranges["4.4"]):
        marks = None
        for n, d in enumerate(desc):
            if d.strip().startswith("Usable in:") and n + 1 < len(desc):
                cells = [c.strip() for c in desc[n + 1].split("|")]
                if len(cells) == 8:
                    marks = cells
                break
        for heading in group:
            text, dep, exp = strip_markers(heading)
            name = first_word(text)
            for (ident, _), mark in zip(RULE_SETS, marks or ["-"] * 8):
                if mark == "X":
                    tables[ident].get(name)
            for t in tables.values():
                if name in t.entries:
                    e = t.entries[name]
                    e.add_synopsis(text)
                    e.deprecated |= dep
                    e.experimental |= exp
    return tables


def simple_table(ident, lines, first, end, exclude=()):
    table = Table(ident)
    add_headings(table, lines, first, end, exclude)
    return table


def summary_rows(lines, first, end):
    """Names in the summary tables (rows between a '---+---' rule and the next rule)."""
    inside = False
    for line in lines[first:end]:
        if re.match(r"^-{10,}\+", line):
            inside = not inside
            continue
        if inside and line.strip() and line[0] not in " \t":
            yield line.split()[0]


def fetch_table(lines, ranges):
    table = Table("fetch")
    for num in ("7.3.2", "7.3.3", "7.3.4", "7.3.5", "7.3.6", "7.3.7"):
        first, end = ranges[num]
        for row in summary_rows(lines, first, end):
            table.get(row.split("(")[0])
        for group, desc in heading_groups(lines, first, end):
            for heading in group:
                text, dep, exp = strip_markers(heading)
                name = first_word(text)
                e = table.get(name)
                e.add_synopsis(text)
                e.deprecated |= dep
                e.experimental |= exp
            # "ACL derivatives :" lists forms usable only in ACLs (path_beg, hdr_dom...).
            inside = False
            for d in desc:
                if d.strip().startswith("ACL derivative"):
                    inside = True
                    continue
                if inside:
                    m = re.match(r"^    ([a-z][\w.+-]*)(\([^)]*\)+)?\s*:\s*(.*)$", d)
                    if not m:
                        if not d.strip() or indent(d) <= 2:
                            inside = False
                        continue
                    name = m.group(1)
                    derived = name not in table.entries
                    e = table.get(name)
                    e.add_synopsis((m.group(1) + (m.group(2) or "")).strip())
                    if derived:
                        e.acl_only = True
    return table


def converter_table(lines, ranges):
    table = Table("converter")
    first, end = ranges["7.3.1"]
    for row in summary_rows(lines, first, end):
        pass
    for line in lines[first:end]:
        # The summary rows: name(args) input output, at column 0.
        m = re.match(r"^([a-z0-9][\w.-]*)(\([^ ]*\))?\s{2,}\S", line)
        if m:
            table.get(m.group(1))
    add_headings(table, lines, first, end)
    # map_<match_type>[_<output_type>] stands for the names in the table that follows it.
    generic = [n for n in table.entries if "<" in n]
    for name in generic:
        synopsis = table.entries.pop(name).synopsis
        for line in lines[first:end]:
            if re.match(r"^\s+(str|int|ip)\s+\|", line):
                for cell in line.split("|")[2:]:
                    cell = cell.strip()
                    if re.match(r"^map_[a-z_]+$", cell):
                        e = table.get(cell)
                        for syn in synopsis:
                            e.add_synopsis(syn.replace(name, cell, 1))
    return table


def predefined_acls(lines, ranges):
    table = Table("predefined-acl")
    first, end = ranges["7.4"]
    for line in lines[first:end]:
        m = re.match(r"^([A-Z][A-Z0-9_.]+)\s+(\S.*?)\s{2,}(\S.*)$", line)
        if m and m.group(1) != "ACL":
            table.get(m.group(1)).add_synopsis(m.group(2))
    return table


# ---------------------------------------------------------------------------------------------
# Overrides


class Rules:
    def __init__(self):
        self.exact = {}  # name -> (kind, reason)
        self.prefix = []  # (prefix, kind, reason)
        self.default = None
        self.removed = []  # (name, since, replacement, help)
        self.extra = []  # synopses
        self.extra_acl = []  # names


def read_overrides(path):
    rules = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = "%s:%d" % (os.path.basename(path), number)
            m = re.match(r"^\[([\w.-]+)\]$", line)
            if m:
                current = rules.setdefault(m.group(1), Rules())
                continue
            if current is None:
                fail(where + ": rule outside of a [table] block")
            verb, _, rest = line.partition(" ")
            rest = rest.strip()
            if verb == "supported":
                for name in rest.split():
                    add_rule(current, name, ("supported", ""), where)
            elif verb in ("ignored", "refused"):
                names, sep, reason = rest.partition(":")
                if not sep or not reason.strip():
                    fail(where + ": '%s' needs 'names: reason'" % verb)
                for name in names.split():
                    add_rule(current, name, (verb, reason.strip()), where)
            elif verb == "default":
                kind, sep, reason = rest.partition(":")
                kind = kind.strip()
                if kind not in ("ignored", "refused") or not reason.strip():
                    fail(where + ": 'default ignored|refused: reason'")
                current.default = (kind, reason.strip())
            elif verb == "removed":
                parts = [p.strip() for p in rest.split("|")]
                if len(parts) != 4 or not parts[0] or not parts[1] or not parts[3]:
                    fail(where + ": 'removed name | since | replacement | help'")
                current.removed.append(tuple(parts))
            elif verb == "extra":
                current.extra.append(rest)
            elif verb == "extra-acl":
                current.extra_acl.extend(rest.split())
            else:
                fail(where + ": unknown verb '%s'" % verb)
    return rules


def add_rule(rules, name, value, where):
    if name.endswith("*"):
        rules.prefix.append((name[:-1], value[0], value[1], where))
    else:
        if name in rules.exact:
            fail(where + ": '%s' has two rules" % name)
        rules.exact[name] = (value[0], value[1], where)


def resolve(table, rules):
    """Support status of each entry; checks that every rule names something real."""
    if rules is None or rules.default is None:
        fail("overrides.txt: table [%s] needs a 'default' rule" % table.ident)
    for synopsis in rules.extra:
        table.get(first_word(synopsis)).add_synopsis(synopsis)
    for name in rules.extra_acl:
        if name in table.entries:
            fail("[%s] extra-acl '%s' is documented already" % (table.ident, name))
        table.get(name).acl_only = True
    for name, (_, _, where) in rules.exact.items():
        if name not in table.entries:
            fail("%s: '%s' is not a keyword of [%s]" % (where, name, table.ident))
    for prefix, _, _, where in rules.prefix:
        if not any(n.startswith(prefix) for n in table.entries):
            fail("%s: '%s*' matches no keyword of [%s]" % (where, prefix, table.ident))
    for name, since, _, _ in rules.removed:
        if name in table.entries:
            fail("[%s] '%s' is listed as removed but the manual still documents it"
                 % (table.ident, name))
    support = {}
    for name in table.entries:
        if name in rules.exact:
            kind, reason, _ = rules.exact[name]
        else:
            best = None
            for prefix, kind, reason, _ in rules.prefix:
                if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                    best = (prefix, kind, reason)
            kind, reason = (best[1], best[2]) if best else rules.default
        support[name] = (kind, reason)
    return support


# ---------------------------------------------------------------------------------------------
# Rust output


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_support(kind, reason):
    if kind == "supported":
        return "Support::Supported"
    return "Support::%s(%s)" % (kind.capitalize(), rust_str(reason))


def emit_table(out, const, table, rules):
    support = resolve(table, rules)
    if table.ident == "section":
        # Only the removed section keywords: the live ones are SectionKind.
        return emit_removed(out, const, rules)
    out.append("pub(in crate::keywords) static %s: &[Keyword] = &[" % const)
    for name in sorted(table.entries, key=lambda n: n.encode()):
        e = table.entries[name]
        flags = [f for f, on in (("DEPRECATED", e.deprecated), ("EXPERIMENTAL", e.experimental),
                                 ("NEGATABLE", e.negatable), ("ACL_ONLY", e.acl_only)) if on]
        out.append("    entry(%s, &[%s], %s, Sections(0b%s), %s, %s)," % (
            rust_str(name),
            ", ".join(rust_str(s) for s in e.synopsis),
            rust_support(*support[name]),
            format(e.sections if e.sections is not None else ALL_PROXIES, "05b"),
            " | ".join(flags) if flags else "0",
            "Some(Table::%s)" % e.sub if e.sub else "None",
        ))
    out.append("];")
    out.append("")
    return emit_removed(out, const, rules) + len(table.entries)


def emit_removed(out, const, rules):
    removed = sorted(rules.removed, key=lambda r: r[0].encode())
    out.append("pub(in crate::keywords) static %s_REMOVED: &[Removed] = &[" % const)
    for name, since, replacement, help_ in removed:
        out.append("    Removed {")
        out.append("        name: %s," % rust_str(name))
        out.append("        since: %s," % rust_str(since))
        out.append("        replacement: %s," % rust_str(replacement))
        out.append("        help: %s," % rust_str(help_))
        out.append("    },")
    out.append("];")
    out.append("")
    return 0


HEADER = """// @generated by tools/catalogue/extract.py from HAProxy 3.4's configuration.txt and
// tools/catalogue/overrides.txt. Do not edit: change the overrides and run the script again.

#[allow(unused_imports)]
use crate::keywords::entry::{entry, ACL_ONLY, DEPRECATED, EXPERIMENTAL, NEGATABLE};
#[allow(unused_imports)]
use crate::keywords::{Keyword, Removed, Sections, Support, Table};

"""


def write_mod(names):
    body = ["//! Tables generated from HAProxy 3.4's manual; see tools/catalogue/extract.py.", ""]
    for n in names:
        body += ["#[rustfmt::skip]", "pub(super) mod %s;" % n[:-3]]
    path = os.path.join(OUT_DIR, "mod.rs")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(body) + "\n")


def write(name, body):
    WRITTEN.append(name)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n".join(body).rstrip("\n") + "\n")


def const_name(ident):
    return re.sub(r"[^A-Z0-9]", "_", ident.upper())


def main():
    manual = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MANUAL
    with open(manual, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    ranges = chapters(lines)
    rules = read_overrides(OVERRIDES)
    os.makedirs(OUT_DIR, exist_ok=True)
    counts = []

    def emit(file_body, ident, table):
        n = emit_table(file_body, const_name(ident), table, rules.get(ident))
        counts.append((ident, n))

    global_, global_stats = global_table(lines, ranges)
    body = []
    emit(body, "global", global_)
    emit(body, "global-stats", global_stats)
    write("global.rs", body)

    proxy, subs = proxy_tables(lines, ranges)
    body = []
    emit(body, "proxy", proxy)
    for first in sorted(subs):
        emit(body, subs[first].ident, subs[first])
    write("proxy.rs", body)

    body = []
    for ident in sorted(SECTIONS):
        num, _ = SECTIONS[ident]
        if num is None:
            table = Table(ident)
        else:
            first, end = own_range(ranges, num) if num == "12.7" else ranges[num]
            table = simple_table(ident, lines, first, end, exclude=(ident,))
            if ident == "healthcheck":
                table.get("http-check").sub = "HttpCheck"
                table.get("tcp-check").sub = "TcpCheck"
        emit(body, ident, table)
    write("sections.rs", body)

    body = []
    emit(body, "bind", simple_table("bind", lines, *ranges["5.1"]))
    emit(body, "server", simple_table("server", lines, *ranges["5.2"]))
    write("options.rs", body)

    body = []
    actions = action_tables(lines, ranges)
    for ident, _ in RULE_SETS:
        emit(body, ident, actions[ident])
    write("actions.rs", body)

    body = []
    emit(body, "fetch", fetch_table(lines, ranges))
    emit(body, "predefined-acl", predefined_acls(lines, ranges))
    emit(body, "converter", converter_table(lines, ranges))
    write("samples.rs", body)

    body = []
    emit(body, "section", Table("section"))
    write("section_removed.rs", body)

    write_mod(sorted(WRITTEN))
    unknown = set(rules) - {c[0] for c in counts}
    if unknown:
        fail("overrides.txt: unknown table(s): " + ", ".join(sorted(unknown)))
    for ident, n in counts:
        sys.stderr.write("%-24s %4d\n" % (ident, n))


if __name__ == "__main__":
    main()
