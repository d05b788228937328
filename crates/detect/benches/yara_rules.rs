//! What each built-in YARA rule costs on the 200 KB benchmark page: every public rule is
//! compiled on its own (with the private rules it may use) and timed over the same buffer
//! the engine scans (HTML source, then visible text). Prints the costliest first, so a
//! rule author sees which pattern to anchor on a better literal.
//!
//! `cargo bench -p ferretwatch-detect --bench yara_rules`

mod common;

use std::time::{Duration, Instant};

use boreal::Compiler;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let html = common::page_200kb();
    let text = ferretwatch_detect::bench::extract(&html).text;
    let mut buffer = html.clone().into_bytes();
    buffer.push(b'\n');
    buffer.extend_from_slice(text.as_bytes());

    let (private, public) = split_rules(ferretwatch_detect::DEFAULT_YARA);
    let all = median_scan(ferretwatch_detect::DEFAULT_YARA, &buffer);
    let only_private = median_scan(&private.join("\n"), &buffer);
    println!("all built-in rules: {:.3} ms; private rules alone: {:.3} ms", ms(all), ms(only_private));
    let mut costs: Vec<(Duration, &str)> = public
        .iter()
        .map(|rule| {
            let source = format!("{}\n{rule}", private.join("\n"));
            (median_scan(&source, &buffer).saturating_sub(only_private), rule_name(rule))
        })
        .collect();
    costs.sort_by(|a, b| b.cmp(a));
    for (cost, name) in costs {
        println!("{:>8.3} ms  {name}", ms(cost));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median_scan(source: &str, buffer: &[u8]) -> Duration {
    let mut compiler = Compiler::new();
    compiler.add_rules_str(source).expect("rules compile");
    let scanner = compiler.finalize();
    let mut samples: Vec<Duration> = (0..41)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(scanner.scan_mem(buffer).ok());
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// (private rules, public rules) as source blocks; a rule runs from its `rule` line to
/// the first line that is a lone `}`.
fn split_rules(source: &str) -> (Vec<String>, Vec<String>) {
    let (mut private, mut public) = (Vec::new(), Vec::new());
    let mut current: Option<(bool, String)> = None;
    for line in source.lines() {
        if current.is_none() && (line.starts_with("rule ") || line.starts_with("private rule ")) {
            current = Some((line.starts_with("private"), String::new()));
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line.trim_end() == "}" {
                let (is_private, text) = current.take().expect("a rule is open");
                if is_private {
                    private.push(text)
                } else {
                    public.push(text)
                }
            }
        }
    }
    (private, public)
}

fn rule_name(rule: &str) -> &str {
    let head = rule.trim_start_matches("private ").trim_start_matches("rule ");
    head.split([' ', ':', '{']).next().unwrap_or(head)
}
