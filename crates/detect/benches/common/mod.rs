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

/// A deterministic ~200 KB page: a login form, navigation, articles, inline and external scripts.
pub fn page_200kb() -> String {
    let words = [
        "account", "secure", "update", "payment", "order", "delivery", "support", "the", "and", "with", "your", "news",
        "market", "report", "weather", "sport", "travel", "review", "price", "today",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut html = String::with_capacity(210 * 1024);
    html.push_str("<!doctype html><html><head><meta charset=utf-8><title>Sign in to your account</title>");
    html.push_str("<link rel=stylesheet href=\"https://fonts.googleapis.com/css2?family=Inter\">");
    html.push_str("<link rel=stylesheet href=\"/static/site.css\"><script src=\"https://cdn.jsdelivr.net/npm/jquery@3/dist/jquery.min.js\"></script>");
    html.push_str("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script></head><body>");
    html.push_str("<nav>");
    for i in 0..80 {
        html.push_str(&format!("<a href=\"/section/{i}\">Section {i}</a> "));
    }
    html.push_str("</nav><form action=\"/session\" method=post><input type=email name=email><input type=password name=password><button>Sign in</button></form>");
    while html.len() < 200 * 1024 {
        html.push_str("<article><h2>");
        for _ in 0..6 {
            html.push_str(words[(next() % words.len() as u64) as usize]);
            html.push(' ');
        }
        html.push_str("</h2><p>");
        for _ in 0..120 {
            html.push_str(words[(next() % words.len() as u64) as usize]);
            html.push(' ');
        }
        html.push_str(&format!("</p><img src=\"/img/{}.jpg\" alt=\"\"></article>", next() % 10_000));
        if next() % 8 == 0 {
            html.push_str("<script>(function(){var a=document.querySelectorAll('.card');for(var i=0;i<a.length;i++){a[i].classList.add('ready')}})();</script>");
        }
    }
    html.push_str("</body></html>");
    html
}

/// The 30 built-in rules plus 70 generated rules shaped like a pack's (literal strings,
/// case-insensitive strings and anchored regexes), 100 in all.
pub fn yara_100() -> String {
    let mut rules = String::from(ferretwatch_detect::DEFAULT_YARA);
    for i in 0..70 {
        let family = ["phishing_kit", "credential_harvest", "crypto_scam", "gift_card_scam"][i % 4];
        let severity = ["high", "medium", "low"][i % 3];
        rules.push_str(&format!(
            "\nrule generated_{i} : {family} {severity} {{\n  meta: description = \"generated rule {i}\"\n  strings:\n    $a = \"kit-marker-{i:04}\"\n    $b = \"panel_{i}.php\" nocase\n    $c = /gate{i}\\/(post|next)\\.php\\?id=[0-9]{{4,8}}/\n  condition: any of them\n}}\n"
        ));
    }
    rules
}
