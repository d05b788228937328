//! One pass over the HTML with a WHATWG tokenizer (`html5gum`), collecting the facts the
//! page signals need: title and site name, forms and their inputs, scripts, loaded
//! resources, redirects and visible text. Everything is bounded by the input limits.

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{Span, Tokenizer};

use crate::input::{limits, truncate_str, ResourceKind};

/// One input field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// `type`, lower case (`text` when absent).
    pub kind: String,
    /// `name` and `id`, lower case, space separated.
    pub name: String,
    /// `autocomplete` and `placeholder`, lower case.
    pub hint: String,
    /// `value`.
    pub value: String,
}

/// A form (inputs outside any form are collected in a form without an action).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// `action` as written, if present.
    pub action: Option<String>,
    /// Inputs, selects and textareas.
    pub inputs: Vec<Input>,
    /// Whether the form exists only in markup the page's script decodes and writes.
    pub written_by_script: bool,
}

/// Facts collected from a page.
#[derive(Debug, Default)]
pub struct PageFacts {
    /// Text of `<title>`.
    pub title: String,
    /// `og:site_name` / `application-name` meta content.
    pub site_name: String,
    /// Forms; the last one, without action, holds inputs found outside forms.
    pub forms: Vec<Form>,
    /// Inline script text, including inline event handlers and `javascript:` URLs.
    pub inline_scripts: String,
    /// Literal redirect targets in the inline script ([`script_redirects`]), found once.
    pub script_redirects: Vec<String>,
    /// Resources referenced by the HTML.
    pub resources: Vec<(ResourceKind, String)>,
    /// `data:` URLs used as script sources.
    pub data_scripts: usize,
    /// `data:` URLs used as image sources, and the largest one's length.
    pub data_images: (usize, usize),
    /// Meta-refresh target and delay in seconds.
    pub meta_refresh: Option<(String, u32)>,
    /// Visible text (outside script, style and template), whitespace collapsed.
    pub text: String,
    /// Link targets (`<a href>`), http(s) and protocol-relative only, at most 200.
    pub links: Vec<String>,
    /// Whether the page dials out (`tel:` links) or plays audio by itself (autoplay).
    pub dials_or_plays: (bool, bool),
    /// Favicon URL from `<link rel=icon>`.
    pub icon: Option<String>,
    /// Whether the visible text was cut at its limit.
    pub text_truncated: bool,
}

impl PageFacts {
    /// All inputs of all forms.
    pub fn inputs(&self) -> impl Iterator<Item = &Input> {
        self.forms.iter().flat_map(|f| f.inputs.iter())
    }

    /// Adds the facts of markup the page's script writes (already decoded and bounded):
    /// its forms (marked as written by script), redirects, links, resources, text and code.
    pub(crate) fn merge_written(&mut self, written: PageFacts) {
        self.forms.extend(written.forms.into_iter().filter(|f| f.action.is_some() || !f.inputs.is_empty()).map(
            |mut f| {
                f.written_by_script = true;
                f
            },
        ));
        self.script_redirects.extend(written.script_redirects);
        if self.meta_refresh.is_none() {
            self.meta_refresh = written.meta_refresh;
        }
        let room = 200usize.saturating_sub(self.links.len());
        self.links.extend(written.links.into_iter().take(room));
        self.resources.extend(written.resources);
        self.data_scripts += written.data_scripts;
        if !written.text.is_empty() && self.text.len() < crate::input::limits::MAX_TEXT_BYTES {
            self.text.push(' ');
            self.text.push_str(&written.text);
        }
        self.inline_scripts.push('\n');
        self.inline_scripts.push_str(&written.inline_scripts);
        if self.title.is_empty() {
            self.title = written.title;
        }
    }
}

/// Extracts facts from HTML (already cut to the HTML limit).
pub fn extract(html: &str) -> PageFacts {
    let mut collector = Collector::default();
    let mut emitter = CallbackEmitter::new(|event: CallbackEvent<'_>, _: Span<()>| -> Option<()> {
        collector.event(event);
        None
    });
    emitter.naively_switch_states(true);
    for _ in Tokenizer::new_with_emitter(html, crate::quiet_emitter::Quiet(emitter)) {}
    collector.finish()
}

/// The start tag being read: its name and the attributes worth keeping.
#[derive(Default)]
struct OpenTag {
    name: Vec<u8>,
    /// Whether all attributes are kept (tags the signals read) or only `on*` handlers.
    keep_all: bool,
    attrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether the last attribute name was kept (so its value is recorded).
    keeping: bool,
}

impl OpenTag {
    /// First value of an attribute (duplicates after the first are ignored, as browsers do).
    fn attr(&self, key: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k.as_slice() == key.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn has(&self, key: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k.as_slice() == key.as_bytes())
    }
}

/// Tags whose attributes the signals read.
fn reads_attributes(name: &[u8]) -> bool {
    matches!(
        name,
        b"script"
            | b"meta"
            | b"link"
            | b"img"
            | b"image"
            | b"iframe"
            | b"frame"
            | b"audio"
            | b"video"
            | b"embed"
            | b"bgsound"
            | b"a"
            | b"form"
            | b"input"
            | b"textarea"
            | b"select"
    )
}

/// State of one pass over the tokenizer's events.
#[derive(Default)]
struct Collector {
    facts: PageFacts,
    tag: OpenTag,
    current_form: Option<Form>,
    loose: Form,
    raw: RawTextState,
    script_is_inline: bool,
}

#[derive(Default, PartialEq, Eq, Clone, Copy)]
enum RawTextState {
    #[default]
    None,
    Title,
    Script,
    Hidden,
}

impl Collector {
    fn event(&mut self, event: CallbackEvent<'_>) {
        match event {
            CallbackEvent::OpenStartTag { name } => {
                self.tag.name.clear();
                self.tag.name.extend_from_slice(name);
                self.tag.keep_all = reads_attributes(name);
                self.tag.attrs.clear();
                self.tag.keeping = false;
            }
            CallbackEvent::AttributeName { name } => {
                let handler = name.len() > 2 && name[..2].eq_ignore_ascii_case(b"on");
                self.tag.keeping = self.tag.keep_all || handler;
                if self.tag.keeping {
                    self.tag.attrs.push((name.to_ascii_lowercase(), Vec::new()));
                }
            }
            CallbackEvent::AttributeValue { value } if self.tag.keeping => {
                if let Some(last) = self.tag.attrs.last_mut() {
                    last.1.extend_from_slice(value);
                }
            }
            CallbackEvent::CloseStartTag { .. } => self.start_tag(),
            CallbackEvent::EndTag { name } => self.end_tag(name),
            CallbackEvent::String { value } => self.string(value),
            _ => {}
        }
    }

    fn start_tag(&mut self) {
        let tag = std::mem::take(&mut self.tag);
        let facts = &mut self.facts;
        for (key, value) in &tag.attrs {
            if key.len() > 2 && key.starts_with(b"on") {
                push_script(&mut facts.inline_scripts, &String::from_utf8_lossy(value));
            }
        }
        let name = tag.name.as_slice();
        match name {
            b"title" => self.raw = RawTextState::Title,
            b"script" => {
                self.raw = RawTextState::Script;
                self.script_is_inline = true;
                if let Some(src) = tag.attr("src") {
                    self.script_is_inline = false;
                    if is_data(&src) {
                        facts.data_scripts += 1;
                    } else {
                        add_resource(facts, ResourceKind::Script, src);
                    }
                }
            }
            b"style" | b"template" | b"noscript" | b"svg" => self.raw = RawTextState::Hidden,
            b"meta" => meta(facts, &|k| tag.attr(k)),
            b"link" => link(facts, &|k| tag.attr(k)),
            b"img" | b"image" => {
                if let Some(src) = tag.attr("src").or_else(|| tag.attr("data-src")) {
                    if is_data(&src) {
                        facts.data_images.0 += 1;
                        facts.data_images.1 = facts.data_images.1.max(src.len());
                    } else {
                        add_resource(facts, ResourceKind::Image, src);
                    }
                }
            }
            b"iframe" | b"frame" => {
                if let Some(src) = tag.attr("src") {
                    add_resource(facts, ResourceKind::Frame, src);
                }
            }
            b"audio" | b"video" | b"embed" | b"bgsound"
                if name == b"bgsound" || tag.has("autoplay") || tag.has("autostart") =>
            {
                facts.dials_or_plays.1 = true;
            }
            b"a" => {
                if let Some(href) = tag.attr("href") {
                    let trimmed = href.trim_start();
                    if starts_with_ci(trimmed, "tel:") {
                        facts.dials_or_plays.0 = true;
                    } else if (starts_with_ci(trimmed, "http:")
                        || starts_with_ci(trimmed, "https:")
                        || trimmed.starts_with("//"))
                        && facts.links.len() < 200
                    {
                        facts.links.push(trimmed.to_owned());
                    }
                    if starts_with_ci(trimmed, "javascript:") {
                        push_script(&mut facts.inline_scripts, trimmed);
                    }
                }
            }
            b"form" => {
                if let Some(form) = self.current_form.take() {
                    facts.forms.push(form);
                }
                self.current_form =
                    Some(Form { action: tag.attr("action"), inputs: Vec::new(), written_by_script: false });
            }
            b"input" | b"textarea" | b"select" => {
                let kind = if name == b"input" {
                    tag.attr("type").unwrap_or_else(|| "text".into()).to_ascii_lowercase()
                } else {
                    String::from_utf8_lossy(name).into_owned()
                };
                let input = Input {
                    kind,
                    name: join_lower(&[tag.attr("name"), tag.attr("id")]),
                    hint: join_lower(&[tag.attr("autocomplete"), tag.attr("placeholder"), tag.attr("aria-label")]),
                    value: tag.attr("value").unwrap_or_default(),
                };
                let form = self.current_form.as_mut().unwrap_or(&mut self.loose);
                if form.inputs.len() < 500 {
                    form.inputs.push(input);
                }
            }
            _ => {}
        }
        // Give the buffers back for the next tag.
        self.tag = OpenTag { name: tag.name, attrs: tag.attrs, ..OpenTag::default() };
    }

    fn end_tag(&mut self, name: &[u8]) {
        match name {
            b"form" => {
                if let Some(form) = self.current_form.take() {
                    self.facts.forms.push(form);
                }
            }
            b"title" | b"script" | b"style" | b"template" | b"noscript" | b"svg" => self.raw = RawTextState::None,
            _ => {}
        }
    }

    fn string(&mut self, value: &[u8]) {
        let facts = &mut self.facts;
        match self.raw {
            RawTextState::Hidden => {}
            RawTextState::Script => {
                if self.script_is_inline {
                    push_script(&mut facts.inline_scripts, &String::from_utf8_lossy(value));
                }
            }
            RawTextState::Title => {
                if facts.title.len() < 1024 {
                    push_collapsed(&mut facts.title, &String::from_utf8_lossy(value));
                }
            }
            RawTextState::None => {
                if facts.text.len() < limits::MAX_TEXT_BYTES {
                    push_collapsed(&mut facts.text, &String::from_utf8_lossy(value));
                } else {
                    facts.text_truncated = true;
                }
            }
        }
    }

    fn finish(mut self) -> PageFacts {
        let mut facts = std::mem::take(&mut self.facts);
        if let Some(form) = self.current_form.take() {
            facts.forms.push(form);
        }
        if !self.loose.inputs.is_empty() {
            facts.forms.push(std::mem::take(&mut self.loose));
        }
        facts.title = facts.title.trim().to_owned();
        facts.script_redirects = script_redirects(&facts.inline_scripts);
        let (text, cut) = truncate_str(&facts.text, limits::MAX_TEXT_BYTES);
        if cut {
            facts.text = text.to_owned();
            facts.text_truncated = true;
        }
        facts
    }
}

fn is_data(url: &str) -> bool {
    starts_with_ci(url.trim_start(), "data:")
}

/// ASCII case-insensitive prefix test that never slices inside a character.
fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn add_resource(facts: &mut PageFacts, kind: ResourceKind, url: String) {
    if facts.resources.len() < limits::MAX_RESOURCES {
        facts.resources.push((kind, url));
    }
}

fn push_script(buf: &mut String, text: &str) {
    if buf.len() + text.len() <= limits::MAX_YARA_BYTES {
        buf.push_str(text);
        buf.push('\n');
    }
}

fn push_collapsed(buf: &mut String, text: &str) {
    for word in text.split_whitespace() {
        if !buf.is_empty() && !buf.ends_with(' ') {
            buf.push(' ');
        }
        buf.push_str(word);
    }
    if text.ends_with(char::is_whitespace) && !buf.is_empty() {
        buf.push(' ');
    }
}

fn join_lower(parts: &[Option<String>]) -> String {
    let mut out = String::new();
    for part in parts.iter().flatten() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&part.to_lowercase());
    }
    out
}

fn meta(facts: &mut PageFacts, attr: &dyn Fn(&str) -> Option<String>) {
    let content = attr("content").unwrap_or_default();
    let key = attr("property").or_else(|| attr("name")).unwrap_or_default().to_ascii_lowercase();
    if key == "og:site_name" || key == "application-name" {
        facts.site_name = content.trim().to_owned();
    } else if attr("http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("refresh")) {
        facts.meta_refresh = parse_refresh(&content);
    }
}

/// `"0; url=https://x"` → (`https://x`, 0).
fn parse_refresh(content: &str) -> Option<(String, u32)> {
    let (delay, rest) = content.split_once([';', ','])?;
    let delay = delay.trim().split('.').next()?.parse().unwrap_or(0);
    let rest = rest.trim();
    let target = if starts_with_ci(rest, "url=") { &rest[4..] } else { rest };
    let target = target.trim().trim_matches(|c| c == '\'' || c == '"');
    (!target.is_empty()).then(|| (target.to_owned(), delay))
}

fn link(facts: &mut PageFacts, attr: &dyn Fn(&str) -> Option<String>) {
    let Some(href) = attr("href") else { return };
    let rel = attr("rel").unwrap_or_default().to_ascii_lowercase();
    let kind = if rel.split_whitespace().any(|r| r == "stylesheet") {
        ResourceKind::Css
    } else if rel.split_whitespace().any(|r| r == "icon" || r == "apple-touch-icon") {
        if facts.icon.is_none() {
            facts.icon = Some(href.clone());
        }
        ResourceKind::Image
    } else if attr("as").is_some_and(|a| a.eq_ignore_ascii_case("font")) {
        ResourceKind::Font
    } else {
        return;
    };
    if is_data(&href) {
        return;
    }
    add_resource(facts, kind, href);
}

/// Redirect targets written in inline script: `location.href = "..."`, `location.replace("...")`,
/// `window.location = '...'`, `location.assign(...)`.
pub(crate) fn script_redirects(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(pos) = rest.find("location") {
        let after = &rest[pos + "location".len()..];
        let after_trim = after.trim_start();
        let tail = after_trim
            .strip_prefix(".href")
            .or_else(|| after_trim.strip_prefix(".replace"))
            .or_else(|| after_trim.strip_prefix(".assign"))
            .unwrap_or(after_trim)
            .trim_start();
        let tail = tail.strip_prefix('=').or_else(|| tail.strip_prefix('(')).map(str::trim_start);
        if let Some(tail) = tail {
            if let Some(quote) = tail.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) {
                if let Some(end) = tail[1..].find(quote) {
                    let target = &tail[1..1 + end];
                    if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("//") {
                        out.push(target.to_owned());
                    }
                }
            }
        }
        rest = after;
        if out.len() >= 16 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title> PayPal:   Log in </title>
      <meta property="og:site_name" content="PayPal">
      <meta http-equiv="refresh" content="5; URL='https://elsewhere.example/x'">
      <link rel="stylesheet" href="https://cdn.example/a.css"><link rel="icon" href="/favicon.ico">
      <script src="data:text/javascript;base64,YWxlcnQoMSk="></script>
      <script>var a = atob("eHh4"); window.location.href = "https://next.example/";</script>
      <style>body { color: red }</style></head>
      <body onload="go()"><h1>Verify   your account</h1><img src="https://www.paypalobjects.com/logo.png">
      <img src="data:image/png;base64,AAAA">
      <form action="https://gate.example/post.php" method="post">
        <input type="email" name="login_email"><input type="password" name="pass">
        <input type="hidden" name="em" value="victim@example.com"></form>
      <input type="text" name="cvv"></body></html>"#;

    #[test]
    fn extracts_title_site_name_refresh_and_text() {
        let f = extract(PAGE);
        assert_eq!(f.title, "PayPal: Log in");
        assert_eq!(f.site_name, "PayPal");
        assert_eq!(f.meta_refresh, Some(("https://elsewhere.example/x".into(), 5)));
        assert!(f.text.contains("Verify your account"), "{:?}", f.text);
        assert!(!f.text.contains("color: red"));
        assert_eq!(f.icon.as_deref(), Some("/favicon.ico"));
    }

    #[test]
    fn extracts_forms_inputs_and_loose_inputs() {
        let f = extract(PAGE);
        assert_eq!(f.forms.len(), 2);
        assert_eq!(f.forms[0].action.as_deref(), Some("https://gate.example/post.php"));
        assert_eq!(f.forms[0].inputs.len(), 3);
        assert_eq!(f.forms[0].inputs[1].kind, "password");
        assert_eq!(f.forms[0].inputs[2].value, "victim@example.com");
        assert_eq!(f.forms[1].action, None);
        assert_eq!(f.forms[1].inputs[0].name, "cvv");
    }

    #[test]
    fn extracts_scripts_resources_and_data_urls() {
        let f = extract(PAGE);
        assert_eq!(f.data_scripts, 1);
        assert_eq!(f.data_images.0, 1);
        assert!(f.inline_scripts.contains("atob"));
        assert!(f.inline_scripts.contains("go()"));
        assert!(f.resources.contains(&(ResourceKind::Image, "https://www.paypalobjects.com/logo.png".into())));
        assert!(f.resources.contains(&(ResourceKind::Css, "https://cdn.example/a.css".into())));
        assert_eq!(f.script_redirects, vec!["https://next.example/".to_string()]);
    }

    #[test]
    fn script_redirect_forms_are_recognised() {
        let js = r#"location.replace('https://a.example'); window.location = "https://b.example/";
                    document.location.assign(`//c.example`); var location2 = 1;"#;
        assert_eq!(script_redirects(js), vec!["https://a.example", "https://b.example/", "//c.example"]);
    }

    #[test]
    fn broken_html_does_not_panic() {
        for html in [
            "<",
            "<form",
            "<input type=",
            "</form></form><title>",
            "<script>",
            "<meta http-equiv=refresh content=';'>",
            "<a href='t\u{e9}l:x'>",
            "<a href='javascrip\u{e9}'>",
            "<img src='dat\u{e9}'>",
            "<meta http-equiv=refresh content='0;ur\u{e9}x'>",
        ] {
            // Broken markup still gives facts, each bounded by what the page holds.
            let facts = extract(html);
            assert!(facts.forms.len() <= html.matches("<form").count(), "{html}");
            assert!(facts.text.len() <= html.len() && facts.title.len() <= html.len(), "{html}");
            assert!(facts.inline_scripts.len() <= html.len(), "{html}");
            assert_eq!(facts.forms.len(), extract(html).forms.len(), "{html}: extraction is deterministic");
        }
    }
}
