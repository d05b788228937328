//! Inputs shared by the benchmarks: a mix of URLs, a 200 KB page and 100 YARA rules.
#![allow(dead_code)]

/// URLs of the kinds the engine sees: ordinary sites, brands' own, typosquats, homographs.
pub const URLS: &[&str] = &[
    "https://www.bbc.co.uk/news/technology-67012345",
    "https://github.com/rust-lang/rust/issues/1234",
    "https://shop.example-store.com/products/blue-widget?ref=home",
    "https://www.paypal.com/signin",
    "https://login.microsoftonline.com/common/oauth2/authorize",
    "https://accounts.google.com/signin/v2/identifier",
    "https://paypa1-resolution.com/webapps/signin",
    "https://xn--pypal-4ve.com/",
    "https://secure-chase-online.net/login.php",
    "https://paypal.com.account-review.info/verify",
    "https://wellsfrago.com/online",
    "https://my-small-bakery.net/wp-content/plugins/x/login.php",
    "http://185.234.10.7/office365/index.html",
    "https://docs.rs/serde/latest/serde/",
    "https://amaz0n-prime-billing.xyz/update",
    "https://recipes.cooking-example.org/2024/05/best-lasagna",
];

/// `n` URLs shaped like browsing traffic (the same mix as `bench/gen_urls.py`): 80% ordinary
/// sites, 12% brands' own pages, 8% lookalikes, kit paths on other hosts and homographs.
pub fn traffic(n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "news", "shop", "blog", "cloud", "data", "green", "city", "travel", "photo", "music", "garden", "health",
        "tech", "home", "food", "auto", "sport", "game", "book", "art", "design", "local", "market",
    ];
    const TLDS: &[&str] = &["com", "org", "net", "de", "co.uk", "fr", "io", "nl", "com.au", "info", "xyz", "shop"];
    const BRANDS: &[&str] =
        &["paypal", "microsoft", "google", "apple", "amazon", "netflix", "chase", "wellsfargo", "facebook", "coinbase"];
    const OWN: &[&str] = &[
        "www.paypal.com",
        "login.microsoftonline.com",
        "accounts.google.com",
        "www.amazon.de",
        "www.netflix.com",
        "secure.chase.com",
        "www.facebook.com",
    ];
    const PATHS: &[&str] = &[
        "/",
        "/index.html",
        "/news/2026/11/story-123",
        "/products/item?id=42",
        "/login",
        "/wp-content/uploads/a.jpg",
        "/search?q=weather",
        "/about-us",
        "/account/settings",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    (0..n)
        .map(|_| {
            let r = next(100);
            let path = PATHS[next(PATHS.len())];
            let brand = BRANDS[next(BRANDS.len())];
            match r {
                0..=79 => format!(
                    "https://{}{}{}.{}{path}",
                    WORDS[next(WORDS.len())],
                    WORDS[next(WORDS.len())],
                    next(1000),
                    TLDS[next(TLDS.len())]
                ),
                80..=91 => format!("https://{}{path}", OWN[next(OWN.len())]),
                92..=95 => format!("https://{brand}-secure-login.com{path}"),
                96..=97 => format!(
                    "https://{}{}.com/wp-content/plugins/x/{brand}/login.php",
                    WORDS[next(WORDS.len())],
                    next(100)
                ),
                _ => "https://xn--pypal-4ve.com/".to_owned(),
            }
        })
        .collect()
}

/// A deterministic ~200 KB page shaped like a real one (markup-heavy: about a fifth is
/// visible text): head with meta, fonts and JSON-LD, a navigation menu, cards with
/// class-laden markup and inline SVG icons, article text, a login form, a minified inline
/// bundle and analytics snippets.
pub fn page_200kb() -> String {
    const WORDS: &[&str] = &[
        "the",
        "of",
        "and",
        "to",
        "in",
        "for",
        "is",
        "on",
        "that",
        "by",
        "this",
        "with",
        "you",
        "it",
        "not",
        "or",
        "be",
        "are",
        "from",
        "at",
        "as",
        "your",
        "all",
        "have",
        "new",
        "more",
        "an",
        "was",
        "we",
        "will",
        "home",
        "can",
        "about",
        "if",
        "page",
        "my",
        "has",
        "search",
        "free",
        "but",
        "our",
        "one",
        "other",
        "do",
        "no",
        "information",
        "time",
        "they",
        "site",
        "he",
        "up",
        "may",
        "what",
        "which",
        "their",
        "news",
        "out",
        "use",
        "any",
        "there",
        "see",
        "only",
        "so",
        "his",
        "when",
        "contact",
        "here",
        "business",
        "who",
        "web",
        "also",
        "now",
        "help",
        "get",
        "view",
        "online",
        "first",
        "been",
        "would",
        "how",
        "were",
        "me",
        "services",
        "some",
        "these",
        "click",
        "its",
        "like",
        "service",
        "than",
        "find",
        "price",
        "date",
        "back",
        "top",
        "people",
        "had",
        "list",
        "name",
        "just",
        "over",
        "state",
        "year",
        "day",
        "into",
        "email",
        "two",
        "health",
        "world",
        "next",
        "used",
        "go",
        "work",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words = |n: usize, next: &mut dyn FnMut() -> u64| {
        let mut out = String::new();
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
        }
        out
    };
    let icon = r#"<svg class="icon icon--sm" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm0 18c-4.41 0-8-3.59-8-8s3.59-8 8-8 8 3.59 8 8-3.59 8-8 8zm-1-13h2v6h-2zm0 8h2v2h-2z"/></svg>"#;
    let mut html = String::with_capacity(210 * 1024);
    html.push_str(r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sign in to your account | Example News</title>"#);
    html.push_str(r#"<meta property="og:site_name" content="Example News"><link rel="icon" href="/favicon.ico"><link rel="preconnect" href="https://fonts.gstatic.com"><link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter:wght@400;600&display=swap"><link rel="stylesheet" href="/static/css/main.4f2a9c.css">"#);
    html.push_str(r#"<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsMediaOrganization","name":"Example News","url":"https://portal.example-news.com/","logo":"https://portal.example-news.com/static/logo.png"}</script>"#);
    html.push_str(r#"<script async src="https://www.googletagmanager.com/gtag/js?id=G-XXXX"></script><script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-XXXX');</script></head><body class="page page--home theme-light">"#);
    html.push_str(
        r#"<header class="site-header"><nav class="nav nav--primary" aria-label="Primary"><ul class="nav__list">"#,
    );
    for i in 0..120 {
        html.push_str(&format!(r#"<li class="nav__item"><a class="nav__link nav__link--{i}" href="/section/{i}/" data-track="nav-{i}">{}</a></li>"#, words(2, &mut next)));
    }
    html.push_str(r#"</ul></nav></header><main id="content" class="layout layout--grid">"#);
    html.push_str(r#"<form class="login-form" action="/session" method="post"><label for="email">Email</label><input id="email" type="email" name="email" autocomplete="username"><label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password"><input type="hidden" name="csrf" value="7f9c2ba4e88f827d616045507605853e"><button class="btn btn--primary" type="submit">Sign in</button></form>"#);
    let bundle_at = 150 * 1024;
    let mut bundle_done = false;
    while html.len() < 200 * 1024 {
        let n = next() % 100_000;
        html.push_str(&format!(
            r#"<article class="card card--story card--with-image" data-id="{n}" data-section="{}"><a class="card__link" href="/news/{n}-{}"><div class="card__media"><img class="card__img" src="/img/{n}.jpg" srcset="/img/{n}-320.jpg 320w, /img/{n}-640.jpg 640w" sizes="(max-width: 600px) 100vw, 33vw" alt="" loading="lazy" width="640" height="360"></div><h3 class="card__title">{}</h3></a><p class="card__summary">{}</p><footer class="card__meta"><span class="card__tag">{icon}{}</span><time class="card__time" datetime="2026-11-26T08:00:00Z">2 hours ago</time></footer></article>"#,
            n % 12,
            words(3, &mut next).replace(' ', "-"),
            words(8, &mut next),
            words(24, &mut next),
            words(1, &mut next),
        ));
        if !bundle_done && html.len() > bundle_at {
            bundle_done = true;
            html.push_str("<script>");
            for i in 0..400 {
                html.push_str(&format!("var a{i}=function(e,t){{return e&&t?Object.assign({{}},e,{{k{i}:t.v{i}||null}}):void 0}};document.querySelectorAll('.c{i}').forEach(function(n){{n.classList.add('r{i}')}});"));
            }
            html.push_str("</script>");
        }
    }
    html.push_str("</main></body></html>");
    html
}

/// The built-in rules plus generated rules shaped like a pack's (literal strings,
/// case-insensitive strings and anchored regexes), 100 rules in all.
pub fn yara_100() -> String {
    let mut rules = String::from(ferretwatch_detect::DEFAULT_YARA);
    let builtin = rules.lines().filter(|l| l.starts_with("rule ")).count();
    for i in 0..100usize.saturating_sub(builtin) {
        let family = ["phishing_kit", "credential_harvest", "crypto_scam", "gift_card_scam"][i % 4];
        let severity = ["high", "medium", "low"][i % 3];
        rules.push_str(&format!(
            "\nrule generated_{i} : {family} {severity} {{\n  meta: description = \"generated rule {i}\"\n  strings:\n    $a = \"kit-marker-{i:04}\"\n    $b = \"panel_{i}.php\" nocase\n    $c = /gate{i}\\/(post|next)\\.php\\?id=[0-9]{{4,8}}/\n  condition: any of them\n}}\n"
        ));
    }
    rules
}

/// The default rules with the 100 YARA rules of [`yara_100`].
pub fn engine_with_100_rules() -> ferretwatch_detect::Engine {
    let yara = yara_100();
    ferretwatch_detect::Engine::new(ferretwatch_detect::Rules::builtin())
        .unwrap()
        .with_yara([("bench.yar", yara.as_str())], std::time::Duration::from_millis(200))
        .unwrap()
}
