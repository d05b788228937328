#!/usr/bin/env python3
"""Writes N URLs shaped like browsing traffic: mostly ordinary sites, some brands' own
pages, a few lookalikes, homographs and kit paths. Deterministic (seeded)."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(7)
words = ["news", "shop", "blog", "cloud", "data", "green", "city", "travel", "photo", "music", "garden",
         "health", "tech", "home", "food", "auto", "sport", "game", "book", "art", "design", "local", "market"]
tlds = ["com", "org", "net", "de", "co.uk", "fr", "io", "nl", "com.au", "info", "xyz", "shop"]
brands = ["paypal", "microsoft", "google", "apple", "amazon", "netflix", "chase", "wellsfargo", "facebook", "coinbase"]
brand_domains = ["www.paypal.com", "login.microsoftonline.com", "accounts.google.com", "www.amazon.de",
                 "www.netflix.com", "secure.chase.com", "www.facebook.com"]
paths = ["/", "/index.html", "/news/2026/11/story-123", "/products/item?id=42", "/login", "/wp-content/uploads/a.jpg",
         "/search?q=weather", "/about-us", "/account/settings"]
out = sys.stdout
for i in range(n):
    r = rng.random()
    path = rng.choice(paths)
    if r < 0.80:
        host = f"{rng.choice(['www.', '', 'm.', 'blog.'])}{rng.choice(words)}{rng.choice(words)}{rng.randint(0, 999)}.{rng.choice(tlds)}"
    elif r < 0.92:
        host = rng.choice(brand_domains)
    elif r < 0.96:
        b = rng.choice(brands)
        host = rng.choice([f"{b}-secure-login.com", f"{b[:-1]}{b[-1]}{b[-1]}.net", f"{b}.com.verify-{rng.randint(0, 99)}.info",
                           f"{b.replace('l', '1')}.com", f"secure-{b}.xyz"])
    elif r < 0.98:
        host = f"{rng.choice(words)}{rng.randint(0, 99)}.com"
        path = f"/wp-content/plugins/x/{rng.choice(brands)}/login.php"
    else:
        host = rng.choice(["xn--pypal-4ve.com", "xn--80ak6aa92e.com", "185.234.10.7", "xn--mcrosoft-fza.com"])
    out.write(f"https://{host}{path}\n")
