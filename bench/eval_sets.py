#!/usr/bin/env python3
"""Builds the labelled URL lists `pack test --urls` measures detection on.

Usage: eval_sets.py BRANDS_JSON SOURCES_DIR OUT_DIR

Writes OUT_DIR/tune/*.tsv and OUT_DIR/measure/*.tsv (label<TAB>class<TAB>url). Deterministic:
the same sources give byte-identical files. Sources (installed by bench/eval-sets.sh from
the package registries):

- dnstwist (PyPI): the typo classes, applied to each built-in brand's primary label;
- pymispwarninglists (PyPI): MISP warning lists with the Tranco top 10k, Cisco Umbrella
  top 20k and a list of bank websites;
- eth-phishing-detect (npm): MetaMask's whitelist of real crypto sites that resemble
  brands (benign) and its blacklist (phishing, for packs that carry it);
- wamerican (Debian): dictionary words that resemble a brand label.

Split: generated lookalikes and dictionary words go to `tune` or `measure` by a stable hash
of the brand or word; Tranco's top 10k and the bank websites are measure-only, Cisco's
top 20k and MetaMask's whitelist tune-only. Nothing measured is used to choose a default.
"""

import collections
import hashlib
import json
import os
import sys
import unicodedata

import dnstwist

PER_CLASS = 25
MIN_LABEL = 5  # brand labels shorter than this are not permuted (see docs/detection.md)

# dnstwist fuzzer -> our class
FUZZERS = {
    "addition": "insertion",
    "insertion": "insertion",
    "omission": "omission",
    "repetition": "repetition",
    "replacement": "replacement",
    "transposition": "transposition",
    "vowel-swap": "vowel-swap",
    "bitsquatting": "bitflip",
    "hyphenation": "hyphenation",
    "dictionary": "added-words",
    "homoglyph": "homoglyph",
    "subdomain": "split-labels",
}
WORDS = ["login", "secure", "account", "verify", "support", "online", "signin", "update", "help", "wallet", "pay", "my", "app", "service", "auth"]
OTHER_TLDS = ["net", "org", "info", "xyz", "top", "online", "site", "shop", "app", "io", "co", "live", "support", "help", "cc", "ru", "me", "click", "vip", "store"]
HOSTING = ["weebly-site.com", "secure-session.top", "account-check.info", "verify-now.xyz", "login-portal.online"]
# Latin letter -> Cyrillic look-alike (whole- and mixed-script variants)
CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "j": "ј", "s": "ѕ", "h": "һ", "l": "ӏ", "d": "ԁ", "q": "ԛ", "w": "ԝ", "g": "ɡ"}
DIACRITICS = {"a": "áàâäãå", "e": "éèêë", "i": "íìîï", "o": "óòôöõø", "u": "úùûü", "n": "ñṉ", "c": "ç", "s": "śš", "y": "ýÿ", "z": "žź", "g": "ğ", "l": "ĺļ", "r": "ŕ"}


def is_country(suffix):
    parts = suffix.split(".")
    return len(parts) <= 2 and len(parts[-1]) == 2 and parts[-1].isalpha()


def bucket(key):
    return "measure" if hashlib.sha256(key.encode()).digest()[0] & 1 else "tune"


def registrable_label(domain):
    parts = domain.split(".")
    return parts[0] if len(parts) == 2 else parts[-3] if parts[-2] in ("co", "com") else parts[0]


def idna(host):
    try:
        return host.encode("idna").decode()
    except UnicodeError:
        return None


def own_variants(label, rnd):
    """Classes dnstwist does not generate: scripts, diacritics, subdomain, other TLD, ..."""
    out = []
    letters = [i for i, c in enumerate(label) if c in CYRILLIC]
    if len(letters) == len(label):
        out.append(("whole-script", "".join(CYRILLIC[c] for c in label) + ".com"))
    for i in letters[:3]:
        out.append(("mixed-script", label[:i] + CYRILLIC[label[i]] + label[i + 1:] + ".com"))
    if len(letters) >= 2:
        i, j = letters[0], letters[-1]
        out.append(("mixed-script", label[:i] + CYRILLIC[label[i]] + label[i + 1:j] + CYRILLIC[label[j]] + label[j + 1:] + ".com"))
    marks = [i for i, c in enumerate(label) if c in DIACRITICS]
    for i in marks[:4]:
        for d in DIACRITICS[label[i]][:2]:
            out.append(("diacritics", label[:i] + d + label[i + 1:] + ".com"))
    if len(marks) >= 2:
        i, j = marks[0], marks[-1]
        out.append(("diacritics", label[:i] + DIACRITICS[label[i]][0] + label[i + 1:j] + DIACRITICS[label[j]][0] + label[j + 1:] + ".com"))
    for cut in range(2, len(label) - 1):
        out.append(("split-labels", label[:cut] + "." + label[cut:] + "-" + WORDS[cut % len(WORDS)] + ".com"))
    for k, host in enumerate(HOSTING):
        out.append(("subdomain", f"{label}.{host}"))
        out.append(("subdomain", f"{WORDS[k]}-{label}.{host}"))
    for tld in OTHER_TLDS:
        out.append(("other-tld", f"{label}.{tld}"))
    for w in WORDS[:6]:
        out.append(("added-words", f"{label}-{w}.com"))
        out.append(("added-words", f"{w}{label}.com"))
    # digit-for-letter swaps combined with one more edit (g00gie, paypa1l)
    digits = {"o": "0", "l": "1", "i": "1", "e": "3", "a": "4", "s": "5"}
    swaps = [i for i, c in enumerate(label) if c in digits]
    for i in swaps[:3]:
        swapped = label[:i] + digits[label[i]] + label[i + 1:]
        out.append(("homoglyph", swapped + ".com"))
        j = (i + 2) % len(label)
        out.append(("homoglyph", swapped[:j] + swapped[j] + swapped[j:] + ".com"))
    for a, b in (("m", "rn"), ("w", "vv"), ("d", "cl")):
        if a in label:
            out.append(("homoglyph", label.replace(a, b, 1) + ".com"))
            out.append(("homoglyph", label.replace(a, b, 1) + "-" + WORDS[len(label) % len(WORDS)] + ".com"))
    return out


def main():
    brands_path, sources, out_dir = sys.argv[1:4]
    brands = json.load(open(brands_path))
    mispdir = os.path.join(sources, "misp")

    def misp(name):
        return json.load(open(os.path.join(mispdir, name, "list.json")))["list"]

    tranco10k = sorted({d.strip().lower().lstrip("*.") for d in misp("tranco10k")})
    cisco = sorted({d.strip().lower().lstrip("*.") for d in misp("cisco_top20k")})
    banks = sorted({d.strip().lower().lstrip("*.") for d in misp("bank-website")})
    popular = set(tranco10k) | set(cisco)
    eth = json.load(open(os.path.join(sources, "eth-phishing-detect", "config.json")))
    owned = {d for b in brands for d in b["domains"]}
    # A brand that registers its name under two or more country-code suffixes owns it under
    # all of them (the engine's rule): such hosts are the brand's own, not lookalikes.
    country = set()
    for b in brands:
        per = collections.Counter(d.split(".", 1)[0] for d in b["domains"] if is_country(d.split(".", 1)[1]))
        country |= {label for label, n in per.items() if n >= 2}

    rows = {"tune": {}, "measure": {}}

    def add(split, name, label, cls, host):
        rows[split].setdefault(name, set()).add((label, cls, f"https://{host}/"))

    labels = []
    for b in brands:
        for text in b.get("labels") or [registrable_label(b["domains"][0]).replace("-", "")]:
            if len(text) >= MIN_LABEL and text.isascii() and text.isalpha():
                labels.append((b["name"], text))
    skipped_popular = 0
    for name, text in labels:
        split = bucket(name)
        fuzz = dnstwist.Fuzzer(f"{text}.com", dictionary=WORDS, tld_dictionary=[])
        fuzz.generate(fuzzers=list(FUZZERS))
        variants = [(FUZZERS[p["fuzzer"]], p["domain"]) for p in fuzz.domains if p["fuzzer"] in FUZZERS]
        variants += [(cls, idna(host)) for cls, host in own_variants(text, None)]
        # at most PER_CLASS per label and class, a stable sample (dnstwist's homoglyph
        # fuzzer alone gives thousands for a long label)
        per_class = {}
        for cls, host in sorted(set(variants), key=lambda v: hashlib.sha256(repr(v).encode()).digest()):
            per_class.setdefault(cls, [])
            if len(per_class[cls]) < PER_CLASS:
                per_class[cls].append(host)
        variants = [(cls, host) for cls, hosts in sorted(per_class.items()) for host in hosts]
        for cls, host in variants:
            if not host or host.split(".", 1)[-1] in owned or host in owned:
                continue
            reg = ".".join(host.split(".")[-2:])
            first, rest = host.split(".", 1)
            if first in country and is_country(rest):
                continue
            if reg in popular or reg in owned:
                skipped_popular += 1
                continue
            add(split, "lookalikes", "phishing", cls, host)
    for d in tranco10k:
        add("measure", "popular", "benign", "popular", d)
    for d in cisco:
        add("tune", "popular", "benign", "popular", d)
    for d in banks:
        if d not in owned:
            add("measure", "resembling", "benign", "banks", d)
    for d in eth["whitelist"]:
        d = d.strip().lower()
        if d and "/" not in d and d not in owned:
            add("tune", "resembling", "benign", "similar-company", d)
    for b in brands:
        for d in b["domains"]:
            add(bucket(b["name"]), "resembling", "benign", "brand-own", d)
            add(bucket(b["name"]), "resembling", "benign", "brand-own", "www." + d)
    words = [w.strip() for w in open(os.path.join(sources, "words"), encoding="utf-8", errors="ignore")]
    words = sorted({unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode().lower() for w in words if w.isalpha()})
    brand_texts = sorted({t for _, t in labels})
    for w in words:
        if len(w) < MIN_LABEL or w in brand_texts:
            continue
        near = any(t in w or (abs(len(t) - len(w)) <= 1 and sum(a != c for a, c in zip(t, w)) <= 1) for t in brand_texts)
        if near and f"{w}.com" not in owned:
            add(bucket(w), "resembling", "benign", "dictionary", f"{w}.com")
    for d in eth["blacklist"]:
        d = d.strip().lower()
        if d and "/" not in d:
            add(bucket(d), "blocklist", "phishing", "listed", d)
    for split, files in rows.items():
        os.makedirs(os.path.join(out_dir, split), exist_ok=True)
        for name, items in files.items():
            with open(os.path.join(out_dir, split, name + ".tsv"), "w", encoding="utf-8") as f:
                for label, cls, url in sorted(items):
                    f.write(f"{label}\t{cls}\t{url}\n")
    counts = {s: {n: len(v) for n, v in files.items()} for s, files in rows.items()}
    print(json.dumps({"rows": counts, "lookalikes_dropped_as_popular": skipped_popular}, indent=1))


if __name__ == "__main__":
    main()
