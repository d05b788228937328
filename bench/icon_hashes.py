#!/usr/bin/env python3
"""Brand favicon hashes and their false-positive population.

Usage: icon_hashes.py BRANDS_JSON BRAND_HASHES OTHER_HASHES [--write]

BRAND_HASHES lines are `HASH  .../<brand index>-<slug>-<size>.png`; OTHER_HASHES lines
`HASH  .../<slug>.png` (every other logo of the icon set). Prints, per Hamming distance,
the share of other logos that match some brand (false positives) and the share of brand
renders at other sizes that match their own brand's 32-pixel hash (recall); with --write,
stores each brand's distinct hashes in BRANDS_JSON as favicon_phashes.
"""

import collections
import json
import re
import sys


def read(path):
    out = []
    for line in open(path):
        h, name = line.split(None, 1)
        out.append((int(h, 16), name.strip()))
    return out


def main():
    brands_path, brand_file, other_file = sys.argv[1:4]
    write = "--write" in sys.argv[4:]
    brands = json.load(open(brands_path))
    per_brand = collections.defaultdict(dict)
    for h, name in read(brand_file):
        m = re.search(r"(\d+)-([a-z0-9]+)-(\d+)\.png$", name)
        per_brand[int(m.group(1))][int(m.group(3))] = h
    others = read(other_file)
    shipped = {i: sorted(set(sizes.values())) for i, sizes in per_brand.items()}
    dist = lambda a, b: bin(a ^ b).count("1")
    print(f"{len(shipped)} brands with icons, {len(others)} other logos")
    print("distance  other logos matching a brand (fp)   brand renders matching own 32px hash (recall)")
    for d in (2, 4, 6, 8, 10, 12):
        fp = sum(1 for h, _ in others if any(dist(h, s) <= d for hs in shipped.values() for s in hs))
        recall_hits = recall_total = 0
        for i, sizes in per_brand.items():
            if 32 not in sizes:
                continue
            for size, h in sizes.items():
                if size == 32:
                    continue
                recall_total += 1
                recall_hits += dist(h, sizes[32]) <= d
        print(f"{d:>8}  {fp:>5}/{len(others)} = {fp / len(others):.2%}             {recall_hits}/{recall_total} = {recall_hits / max(recall_total, 1):.1%}")
    cross = sum(
        1
        for i, hs in shipped.items()
        for j, gs in shipped.items()
        if i < j and any(dist(a, b) <= 8 for a in hs for b in gs)
    )
    print(f"brand pairs within distance 8 of each other: {cross}")
    if write:
        for i, hs in shipped.items():
            brands[i]["favicon_phashes"] = [f"{h:016x}" for h in hs]
        with open(brands_path, "w", encoding="utf-8") as f:
            json.dump(brands, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote favicon_phashes for {len(shipped)} brands")


if __name__ == "__main__":
    main()
