#!/usr/bin/env python3
"""Per kind of lookalike finding: how often it fires on phishing and on benign URLs of the
labelled lists, and at which confidence. The table behind the lookalike confidences in
docs/decisions/0015-calibrated-defaults.md.

Usage: finding_kinds.py LISTS.tsv... < scan-batch-output.jsonl

The JSON lines are `ferretwatch scan --batch` output for the lists' URLs, in list order.
"""

import collections
import json
import re
import sys

KINDS = [
    ("idn-homograph", r"is displayed as .*, a homograph of"),
    ("idn-near", r"is displayed as .*, within \d edit"),
    ("idn-mixed", r"is displayed as .*, which mixes scripts"),
    ("other-suffix", r"uses the name of .* under another suffix"),
    ("hyphen-split", r"name split by hyphens"),
    ("split-labels", r"splits a brand across labels"),
    ("confusable", r"reads as .* with confusable characters"),
    ("brand-plus-words", r"combines .*'s name with other words"),
    ("confusable-plus-words", r"combines .* written with confusable"),
    ("edit", r"edit\(s\) from"),
    ("contained-lure", r"contains .*'s name .* with a lure word"),
    ("contained", r"contains .*'s name"),
    ("subdomain-domain", r"is used as a subdomain of"),
    ("subdomain-label", r"appears in the subdomain"),
]


def kind_of(evidence):
    for name, pattern in KINDS:
        if re.search(pattern, evidence):
            return name
    return "other"


def main():
    rows = []
    for path in sys.argv[1:]:
        for line in open(path, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                label, cls, url = line.rstrip("\n").split("\t")
                rows.append((label, cls, url))
    table = collections.defaultdict(lambda: collections.Counter())
    examples = collections.defaultdict(list)
    for (label, cls, url), out in zip(rows, sys.stdin):
        verdict = json.loads(out)
        assert verdict["url"] == url, (verdict["url"], url)
        findings = [f for f in verdict.get("findings", []) if f["group"] == "lookalike"]
        if not findings:
            continue
        f = findings[0]
        kind = kind_of(f["evidence"])
        table[kind][(label, f["confidence"])] += 1
        if label == "benign" and len(examples[kind]) < 4:
            examples[kind].append(url)
    print(f"{'kind':<22} {'conf':>5} {'phishing':>9} {'benign':>7}")
    for kind in sorted(table):
        confs = sorted({c for _, c in table[kind]})
        for c in confs:
            p, b = table[kind][("phishing", c)], table[kind][("benign", c)]
            print(f"{kind:<22} {c:>5} {p:>9} {b:>7}  {' '.join(examples[kind][:3]) if b else ''}")


if __name__ == "__main__":
    main()
