#!/usr/bin/env python3
"""Writes the popular-domain precision guard shipped in the built-in rules
(crates/detect/data/popular_domains.json): the registrable domains of the *tuning*
popularity list (Cisco Umbrella top 20k) on which the engine, without the guard, finds a
lookalike of a brand. The measuring list (Tranco top 10k) is never read here.

Usage: popular_guard.py TUNE_POPULAR.tsv SCAN_OUTPUT.jsonl OUT.json
"""

import json
import sys

import tldextract


def main():
    tsv, scans, out = sys.argv[1:4]
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    urls = [line.rstrip("\n").split("\t")[2] for line in open(tsv) if line.strip()]
    guard = set()
    for url, line in zip(urls, open(scans)):
        verdict = json.loads(line)
        assert verdict["url"] == url
        if any(f["group"] == "lookalike" for f in verdict.get("findings", [])):
            host = url.split("/")[2]
            parts = extract(host)
            if parts.domain and parts.suffix:
                guard.add(f"{parts.domain}.{parts.suffix}")
    with open(out, "w") as f:
        json.dump(sorted(guard), f, indent=0)
        f.write("\n")
    print(f"{len(guard)} popular domains resemble a brand")


if __name__ == "__main__":
    main()
