/*
 * FerretWatch default rule set.
 *
 * Scanned buffer: a web page's HTML source + its visible text + its inline
 * scripts, concatenated. Text may therefore appear more than once; rules
 * never depend on absolute match counts of a single literal for that reason.
 * (wallet_drainer_approval_or_permit only compares a literal's count with the
 * count of its quoted <pre>/<code>/prose occurrences: quoted text shows up
 * twice - source and visible text - live script code twice - source and
 * inline scripts.)
 *
 * Tags: exactly one family tag
 *   (phishing_kit, credential_harvest, crypto_scam, tech_support_scam,
 *    gift_card_scam, malware_dropper)
 * and exactly one severity tag (high, medium, low).
 *
 * Every rule combines at least two independent traits so that genuine login
 * pages, checkout pages, news articles about phishing and pages built on
 * common libraries (jQuery, Bootstrap, Google Fonts, analytics) stay clean.
 * Regexes are anchored on a literal and use bounded jumps only.
 */

/* ------------------------------------------------------------------ */
/* Exfiltration channels                                               */
/* ------------------------------------------------------------------ */

rule telegram_bot_credential_exfil : credential_harvest high
{
    meta:
        description = "Client-side script sends form data to a Telegram bot (api.telegram.org/bot.../sendMessage) on a page collecting credentials or card data"
        author = "FerretWatch"
        reference = "Telegram bot exfiltration used by client-side phishing kits"
    strings:
        $tg = "api.telegram.org/bot" nocase
        $send1 = "/sendMessage"
        $send2 = "/sendDocument"
        $send3 = /chat_id["']?\s*[:=]/
        $c_pw = /type\s*=\s*["']?password/ nocase
        $c_pwname = /name\s*=\s*["']?(pass|passwd|password|pwd)["'\s>]/ nocase
        $c_pwjs = /getElementById\s*\(\s*["'](pass|passwd|password|pwd)["']/ nocase
        $c_card = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|security ?code|card_?number|card-number|cardnumber|card number|ccnum|cc_num|cc-number)/ nocase
        $c_phrase = /(name|id|placeholder|aria-label)\s*=\s*["'][^"']{0,60}(seed ?phrase|recovery ?phrase|secret ?phrase|wallet ?phrase|mnemonic|private ?key)/ nocase
    condition:
        $tg and 1 of ($send*) and 1 of ($c_*)
}

rule discord_webhook_credential_exfil : credential_harvest high
{
    meta:
        description = "Page posts to a Discord webhook while collecting passwords, card data or wallet phrases"
        author = "FerretWatch"
        reference = "Discord webhooks used as a free exfiltration drop by phishing kits"
    strings:
        $wh = /discord(app)?\.com\/api\/webhooks\/[0-9]{5,25}\// nocase
        $c_pw = /type\s*=\s*["']?password/ nocase
        $c_pwname = /name\s*=\s*["']?(pass|passwd|password|pwd)["'\s>]/ nocase
        $c_card = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|security ?code|card_?number|card-number|cardnumber|card number|ccnum|cc_num|cc-number)/ nocase
        $c_phrase = /(name|id|placeholder|aria-label)\s*=\s*["'][^"']{0,60}(seed ?phrase|recovery ?phrase|secret ?phrase|wallet ?phrase|mnemonic|private ?key)/ nocase
    condition:
        $wh and 1 of ($c_*)
}

rule form_backend_service_credential_exfil : credential_harvest medium
{
    meta:
        description = "Password, card or wallet-phrase form submitted to a third-party form/email relay service (formspree, formsubmit, emailjs, webhook.site, Apps Script, ...)"
        author = "FerretWatch"
        reference = "Serverless phishing pages relaying credentials through form back-end services"
    strings:
        $x_action = /(action|url)\s*[=:]\s*["']https?:\/\/(www\.)?(formspree\.io|formsubmit\.co|getform\.io|submit-form\.com|api\.web3forms\.com|webhook\.site|formcarry\.com|usebasin\.com|api\.emailjs\.com|script\.google\.com\/macros)/ nocase
        $x_fetch = /fetch\s*\(\s*["']https?:\/\/(www\.)?(formspree\.io|formsubmit\.co|getform\.io|submit-form\.com|api\.web3forms\.com|webhook\.site|api\.emailjs\.com|script\.google\.com\/macros)/ nocase
        $x_emailjs = /emailjs\.(send|sendForm)\s*\(/
        $c_pw = /type\s*=\s*["']?password/ nocase
        $c_cvv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|security ?code)/ nocase
        $c_phrase = /(name|id|placeholder|aria-label)\s*=\s*["'][^"']{0,60}(seed ?phrase|recovery ?phrase|secret ?phrase|wallet ?phrase|mnemonic|private ?key)/ nocase
    condition:
        1 of ($x_*) and 1 of ($c_*)
}

/* ------------------------------------------------------------------ */
/* Kit gates, panels and kit-specific client code                      */
/* ------------------------------------------------------------------ */

/* Private helper rules: never reported on their own, shared by the rules
 * below so that a common sub-pattern is compiled and scanned once. */

private rule kit_gate_php_action : phishing_kit low
{
    meta:
        description = "Helper, private (never reported on its own): a form action pointing at a typical kit gate script (next.php, post.php, send.php, mailer.php, result.php, step2.php, ...)"
        author = "FerretWatch"
        reference = "Common gate file names in Office365/Adobe/bank phishing kits"
    strings:
        $gate = /action\s*=\s*["']?([a-zA-Z0-9_\-\.:\/]{0,100}\/)?(next|next[0-9]|post|send|sendmail|mail|mailer|res|rez|result|results|step[0-9]|go|xx|ok|logs)\.php/ nocase
    condition:
        $gate
}

private rule hidden_input_with_email : phishing_kit low
{
    meta:
        description = "Helper, private (never reported on its own): a hidden input whose value is an e-mail address (victim address rendered into the page)"
        author = "FerretWatch"
        reference = "Server-side personalised kits and auto-POST redirectors"
    strings:
        $hid1 = /type\s*=\s*["']?hidden["']?[^>]{0,120}value\s*=\s*["']?[a-zA-Z0-9._%+\-]{1,64}@[a-zA-Z0-9.\-]{1,64}\.[a-zA-Z]{2,10}/ nocase
        $hid2 = /value\s*=\s*["']?[a-zA-Z0-9._%+\-]{1,64}@[a-zA-Z0-9.\-]{1,64}\.[a-zA-Z]{2,10}["']?[^>]{0,120}type\s*=\s*["']?hidden/ nocase
    condition:
        any of them
}

rule kit_php_gate_branded_login : phishing_kit high
{
    meta:
        description = "Brand-impersonating login form (email + password) posting to a typical kit gate script such as next.php / post.php / send.php"
        author = "FerretWatch"
        reference = "Common gate file names in Office365/Adobe/bank phishing kits"
    strings:
        $pw = /type\s*=\s*["']?password/ nocase
        $user = /name\s*=\s*["']?(email|e-mail|login|username|user|userid|ai|em|eml|loginfmt)["'\s>]/ nocase
        $b_alt = /alt\s*=\s*["'][^"']{0,20}(microsoft|office|outlook|onedrive|sharepoint|adobe|docusign|wells\s*fargo|bank\s+of\s+america|chase|paypal|apple|netflix|webmail|dropbox|excel|aol|yahoo)/ nocase
        $title = /<title>[^<]{0,200}<\/title>/ nocase
        $tw = /(microsoft|office\s*365|outlook|onedrive|sharepoint|adobe|docusign|wells\s*fargo|bank\s+of\s+america|chase|paypal|apple\s+id|icloud|netflix|webmail|dropbox|excel|godaddy|aol|yahoo)/ nocase
        $src = /src\s*=\s*["'][^"']{1,200}["']/ nocase
        $lw = /(microsoft|office365|o365|outlook|onedrive|sharepoint|adobe|docusign|wellsfargo|wells_fargo|bofa|chase|paypal|apple|netflix|dropbox|aol|yahoo)[^"']{0,40}\.(png|svg|jpg|jpeg|gif|ico|webp)/ nocase
    condition:
        kit_gate_php_action and $pw and $user and (
            $b_alt
            // brand word inside the first 100 characters of the <title> text
            or for any i in (1 .. #title) : ( for any j in (1 .. #tw) : (
                @tw[j] >= @title[i] + 7 and @tw[j] <= @title[i] + 107 and @tw[j] + !tw[j] <= @title[i] + !title[i] ) )
            // brand-named image file inside a src attribute value
            or for any i in (1 .. #src) : ( for any j in (1 .. #lw) : (
                @lw[j] > @src[i] and @lw[j] <= @src[i] + 130 and @lw[j] + !lw[j] <= @src[i] + !src[i] ) )
        )
}

rule kit_ajax_retry_redirect_to_brand : phishing_kit high
{
    meta:
        description = "Script posts credentials to a .php endpoint, counts attempts and then redirects the victim to the genuine brand site (classic Office365/webmail kit flow)"
        author = "FerretWatch"
        reference = "Attempt-counter + location.replace to the real provider seen in many webmail kits"
    strings:
        $ajax = /\$\.(ajax|post)\s*\(/
        $url = /url\s*:\s*["'][^"']{0,120}\.php["']/
        $fetch = /fetch\s*\(\s*["'][^"']{0,120}\.php["']/
        $cnt = /(count|counter|attempt|attempts|tries|trial|ctr)\s*(>=|===|==|>)\s*[1-5]/ nocase
        $redir = /location(\.replace\s*\(|\.href\s*=|\.assign\s*\(|\s*=)\s*["']https?:\/\/(www\.)?(office\.com|outlook\.live\.com|outlook\.office\.com|outlook\.office365\.com|login\.microsoftonline\.com|login\.live\.com|portal\.office\.com|microsoft\.com|onedrive\.live\.com|mail\.google\.com|google\.com|mail\.yahoo\.com|yahoo\.com|aol\.com|mail\.aol\.com|adobe\.com|docusign\.com|dropbox\.com|wellsfargo\.com|paypal\.com|icloud\.com|apple\.com)/ nocase
    condition:
        (($ajax and $url) or $fetch) and $cnt and $redir
}

rule victim_email_prefill_from_hash : credential_harvest high
{
    meta:
        description = "Login form whose email field is filled from location.hash (optionally base64/atob-decoded) - personalised link from a phishing email"
        author = "FerretWatch"
        reference = "Victim address carried in the URL fragment, e.g. page.html#dmljdGltQGNvcnAuY29t"
    strings:
        $h1 = /location\.hash\.(substr|substring|slice|split|replace)\s*\(/
        $h2 = /atob\s*\(\s*(window\.)?location\.hash/
        $h3 = /atob\s*\(\s*(window\.)?location\.href\.split\s*\(\s*["']#["']/
        $set1 = /\$\(\s*["']#(email|ai|eml|em|username|user|login|userid|i0116|inputEmail|loginfmt)["']\s*\)\.(val|text|html)\s*\(/ nocase
        $set2 = /getElementById\s*\(\s*["'](email|ai|eml|em|username|user|login|userid|i0116|inputEmail|loginfmt)["']\s*\)\.(value|innerHTML|innerText|textContent)\s*=/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        1 of ($h*) and 1 of ($set*) and $pw
}

rule hidden_prefilled_email_reauth_lure : credential_harvest medium
{
    meta:
        description = "Password prompt with the victim's address hard-coded in a hidden input plus a re-authentication lure (session expired, confirm password, pending messages)"
        author = "FerretWatch"
        reference = "Server-side personalised kits (?email=) rendering the address into a hidden field"
    strings:
        $pw = /type\s*=\s*["']?password/ nocase
        $l1 = /session\s+(has\s+)?(expired|timed\s+out)/ nocase
        $l2 = /(confirm|re-?enter|re-?confirm|verify)\s+(your\s+)?(email\s+)?password\s+(to|in\s+order\s+to)\s+(continue|view|access|download|open)/ nocase
        $l3 = /(pending|held|undelivered|incoming|blocked)\s+(messages|emails|mails)/ nocase
        $l4 = /password\s+(has\s+)?expired/ nocase
        $l5 = /due\s+to\s+(a\s+)?(security|system)\s+(reasons|upgrade|update)/ nocase
    condition:
        hidden_input_with_email and $pw and 1 of ($l*)
}

rule dynamic_brand_logo_from_victim_email : phishing_kit medium
{
    meta:
        description = "Universal webmail kit: splits the victim email at '@' and pulls the company logo/screenshot of that domain (clearbit, Google s2 favicons, thum.io) next to a password field"
        author = "FerretWatch"
        reference = "Auto-branding 'universal' credential kits"
    strings:
        $l1 = /logo\.clearbit\.com\/(["']\s*\+|\$\{)/ nocase
        $l2 = /google\.com\/s2\/favicons\?[a-z0-9_=&]{0,20}domain(_url)?=(["']\s*\+|\$\{)/ nocase
        $l3 = /image\.thum\.io\/get\/[^"'`]{0,80}(["']\s*\+|\$\{)/ nocase
        $l4 = /icons\.duckduckgo\.com\/ip[23]\/(["']\s*\+|\$\{)/ nocase
        $l5 = /api\.faviconkit\.com\/(["']\s*\+|\$\{)/ nocase
        $sp1 = /\.split\s*\(\s*["']@["']\s*\)/
        $sp2 = /indexOf\s*\(\s*["']@["']\s*\)\s*\+\s*1/
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        1 of ($l*) and 1 of ($sp*) and $pw
}

rule multi_provider_webmail_picker : phishing_kit medium
{
    meta:
        description = "Multi-provider email picker ('choose your email provider' with Gmail / Outlook / Office365 / Yahoo / AOL / Other mail buttons behind a 'view the shared document' lure, or 3+ 'Sign in with ...' buttons in front of a password field (document-viewer credential kits)"
        author = "FerretWatch"
        reference = "Multi-brand Excel/PDF/DocuSign/Google Docs viewer phishing kits"
    strings:
        $m1 = /(login|log\s*in|sign\s*in|continue)\s+with\s+aol/ nocase
        $m2 = /(login|log\s*in|sign\s*in|continue)\s+with\s+yahoo/ nocase
        $m3 = /(login|log\s*in|sign\s*in|continue)\s+with\s+(outlook|hotmail)/ nocase
        $m4 = /(login|log\s*in|sign\s*in|continue)\s+with\s+office\s*365/ nocase
        $m5 = /(login|log\s*in|sign\s*in|continue)\s+with\s+other\s+(mail|email|e-mail)/ nocase
        $p1 = />[^<]{0,20}Gmail[^<]{0,20}</ nocase
        $p2 = />[^<]{0,20}(Outlook|Office\s?365|Hotmail|Microsoft\s+365)[^<]{0,20}</ nocase
        $p3 = />[^<]{0,20}Yahoo[^<]{0,20}</ nocase
        $p4 = />[^<]{0,20}\bAOL\b[^<]{0,20}</ nocase
        $p5 = />[^<]{0,20}Other\s+(e-?mail|mail|provider|account)s?[^<]{0,20}</ nocase
        $p6 = />[^<]{0,20}(iCloud\s+Mail|Zoho\s+Mail|GMX|Yandex\s+Mail)[^<]{0,20}</ nocase
        $ch1 = /(choose|select|pick)\s+(your\s+)?(e-?mail\s+)?(provider|email\s+(service|host|client|account\s+type))/ nocase
        $ch2 = /(sign\s*in|log\s*in|login)\s+with\s+(your\s+)?(e-?mail\s+)?(provider|email\s+account)\s+to\s+(view|open|access|download)/ nocase
        $d1 = /(view|open|access|download|read)\s+(this|the|your)\s+(shared\s+|secure\s+|protected\s+)?(document|file|pdf|invoice|attachment|folder|fax)/ nocase
        $d2 = /shared\s+(a|an|the|this)?\s*(secure\s+)?(document|file|folder|pdf|invoice)\s+with\s+you/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        (3 of ($m*) and $pw)
        or (3 of ($p*) and 1 of ($ch*) and 1 of ($d*))
}

rule document_share_email_first_step_gate : credential_harvest medium
{
    meta:
        description = "Email-first credential step: 'a document has been shared with you' lure asking for the email address to continue/view, with an email field posting to a kit-style .php gate (the password is usually asked on a second step)"
        author = "FerretWatch"
        reference = "Two-step document-share kits that collect the address before the password page"
    strings:
        $sh1 = /(document|file|folder|pdf|invoice|fax|voicemail|message)s?\s+(has\s+been|was|have\s+been)\s+shared\s+with\s+you/ nocase
        $sh2 = /shared\s+(a|an|the)\s+(secure\s+|protected\s+|confidential\s+)?(document|file|folder|pdf|invoice)\s+with\s+you/ nocase
        $sh3 = /(secure|protected|encrypted|confidential)\s+(document|file|pdf|fax|attachment)/ nocase
        $ask = /(enter|confirm|verify|provide|type)\s+(your\s+)?(work\s+|business\s+|corporate\s+|company\s+|recipient\s+)?(email|e-mail)(\s+address)?\s+(to|in\s+order\s+to)\s+(continue|view|access|open|download|proceed|unlock|receive)/ nocase
        $em = /type\s*=\s*["']?email/ nocase
    condition:
        1 of ($sh*) and $ask and $em and kit_gate_php_action
}

rule kit_author_antibot_markers : phishing_kit high
{
    meta:
        description = "Known phishing-kit author/family markers or anti-bot gate scripts referenced on a page that asks for credentials or card data"
        author = "FerretWatch"
        reference = "Kit families and anti-bot add-ons (16Shop, Kr3pto, Z118, Ex-Robotos, antibot/killbot gates)"
    strings:
        $k1 = /<!--[^>]{0,120}(scam\s?page|scama|16shop|kr3pto|ex-robotos|z118|xbalti|sc4m)/ nocase
        $k2 = /(src|href|action)\s*=\s*["'][^"']{0,120}(antibot|anti-bot|anti_bot|killbot|16shop|kr3pto|xbalti|z118|robotos)[^"']{0,40}\.(php|js)/ nocase
        $k4 = /(src|href|action)\s*=\s*["']([^"']{0,120}\/)?blocker\.php/ nocase
        $k3 = /(killbot\.(org|to)|antibot\.pw)\/[^"'\s]{0,60}/ nocase
        $c_pw = /type\s*=\s*["']?password/ nocase
        $c_cvv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|security ?code|card_?number|card-number|cardnumber|card number|ccnum|cc_num|cc-number)/ nocase
    condition:
        1 of ($k*) and 1 of ($c_*)
}

/* ------------------------------------------------------------------ */
/* Obfuscation and anti-analysis                                       */
/* ------------------------------------------------------------------ */

rule obfuscation_document_write_unescape : phishing_kit medium
{
    meta:
        description = "document.write(unescape(...)) / decodeURIComponent of a long percent-encoded blob (fully or partly encoded) - the whole page is hidden in an escaped string"
        author = "FerretWatch"
        reference = "Classic HTML-escaping used to hide kit markup from static scanners"
    strings:
        $dw1 = /document\.write\s*\(\s*(window\.)?unescape\s*\(/ nocase
        $dw2 = /document\.write\s*\(\s*decodeURIComponent\s*\(/ nocase
        $pct = /(%[0-9a-fA-F]{2}){120}/
        $pct2 = /(unescape|decodeURIComponent)\s*\(\s*["']([^"'%]{0,24}%[0-9a-fA-F]{2}){60}/
    condition:
        1 of ($dw*) and 1 of ($pct*)
}

rule obfuscation_eval_atob_payload : phishing_kit medium
{
    meta:
        description = "eval / document.write / Function / innerHTML fed by atob() (optionally wrapped in decodeURIComponent(escape(...))) together with a long base64 string literal, or base64 that decodes to form / input / password / iframe markup or document / location script code"
        author = "FerretWatch"
        reference = "Base64-wrapped phishing pages and loaders"
    strings:
        $e1 = /eval\s*\(\s*(decodeURIComponent\s*\(\s*escape\s*\(\s*)?(window\.)?atob\s*\(/
        $e2 = /document\.write(ln)?\s*\(\s*(decodeURIComponent\s*\(\s*escape\s*\(\s*)?(window\.)?atob\s*\(/
        $e3 = /Function\s*\(\s*(decodeURIComponent\s*\(\s*escape\s*\(\s*)?(window\.)?atob\s*\(/
        $e5 = /\.innerHTML\s*=\s*(decodeURIComponent\s*\(\s*escape\s*\(\s*)?(window\.)?atob\s*\(/
        $b64 = /atob\s*\(\s*["'`][A-Za-z0-9+\/]{300}/
        $b64v = /(var|let|const)\s+[a-zA-Z_$][a-zA-Z0-9_$]{0,30}\s*=\s*["'`][A-Za-z0-9+\/]{300}/
        $c1 = "<form" base64
        $c2 = "<input" base64
        $c3 = "password" base64
        $c4 = "<iframe" base64
        $c5 = "document." base64
        $c6 = "location" base64
    condition:
        1 of ($e*) and (1 of ($b64*) or 1 of ($c*))
}

rule obfuscation_fromcharcode_chain : phishing_kit medium
{
    meta:
        description = "Long String.fromCharCode number list (or chain of single-char calls) executed via eval/document.write"
        author = "FerretWatch"
        reference = "Character-code obfuscation used by kits and redirectors"
    strings:
        $fc = /String\.fromCharCode\s*\(\s*([0-9]{2,3}\s*,\s*){40}/
        $fcs = /String\.fromCharCode\s*\(\s*[0-9]{2,3}\s*\)\s*\+\s*String\.fromCharCode\s*\(\s*[0-9]{2,3}\s*\)\s*\+\s*String\.fromCharCode\s*\(\s*[0-9]{2,3}\s*\)\s*\+\s*String\.fromCharCode/
        $x1 = /eval\s*\(/
        $x2 = /document\.write(ln)?\s*\(/
        $x3 = /\.innerHTML\s*=/
    condition:
        ($fc or #fcs > 5) and 1 of ($x*)
}

rule obfuscation_hex_escaped_script_with_login : phishing_kit low
{
    meta:
        description = "Long run of \\xNN or \\u00NN escapes (obfuscator output) on a page that contains a password field or executes the decoded string"
        author = "FerretWatch"
        reference = "javascript-obfuscator style string arrays in phishing pages"
    strings:
        $hx = /(\\x[0-9a-fA-F]{2}){60}/
        $ux = /(\\u00[0-9a-fA-F]{2}){60}/
        $s_pw = /type\s*=\s*["']?password/ nocase
        $s_eval = /eval\s*\(/
        $s_dw = /document\.write\s*\(/
    condition:
        ($hx or $ux) and 1 of ($s_*)
}

rule obfuscation_reversed_url_on_login : phishing_kit medium
{
    meta:
        description = "Exfiltration or redirect URL stored reversed ('php.xxx//:sptth') and restored with split('').reverse().join('') on a page with a password field"
        author = "FerretWatch"
        reference = "String-reversal used by credential kits to hide the drop URL from scanners"
    strings:
        $rv1 = /["'`][a-zA-Z0-9_\-\.\/?=&]{0,120}\/\/:s?ptth["'`]/
        $rv2 = /["'`](php|psa|xpsa)\.[a-zA-Z0-9_\-\.\/]{1,120}\/\/:s?ptth/
        $rev = /\.reverse\s*\(\s*\)\s*\.join\s*\(/
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        1 of ($rv*) and $rev and $pw
}

rule anti_analysis_devtools_block_on_sensitive_form : phishing_kit medium
{
    meta:
        description = "Right-click and F12 / Ctrl+Shift+I blocking, disable-devtool or debugger traps on a page asking for passwords, card data or wallet phrases"
        author = "FerretWatch"
        reference = "Anti-inspection tricks used by phishing and drainer pages"
    strings:
        $ctx1 = /oncontextmenu\s*=\s*["']?\s*return\s+false/ nocase
        $ctx2 = /addEventListener\s*\(\s*["']contextmenu["']/
        $ctx3 = /document\.oncontextmenu\s*=/
        $f12a = /(keyCode|which)\s*={2,3}\s*123/
        $f12b = /key\s*={2,3}\s*["']F12["']/
        $csi = /ctrlKey\s*&&\s*[a-zA-Z_$.]{0,20}shiftKey\s*&&\s*[a-zA-Z_$.]{0,20}(keyCode|which|key)\s*={2,3}\s*(73|74|67|["'][IiJjCc]["'])/
        $dd1 = "disable-devtool" nocase
        $dd2 = /DisableDevtool\s*\(/
        $dbg = /setInterval\s*\(\s*(function\s*\(\s*\)|\(\s*\)\s*=>)\s*\{?\s*debugger/
        $s_pw = /type\s*=\s*["']?password/ nocase
        $s_cvv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|security ?code|card_?number|card-number|cardnumber|card number|ccnum|cc_num|cc-number)/ nocase
        $s_phrase = /(name|id|placeholder|aria-label)\s*=\s*["'][^"']{0,60}(seed ?phrase|recovery ?phrase|secret ?phrase|wallet ?phrase|mnemonic|private ?key)/ nocase
    condition:
        ((1 of ($ctx*) and (1 of ($f12*) or $csi)) or 1 of ($dd*) or $dbg) and 1 of ($s_*)
}

/* ------------------------------------------------------------------ */
/* Redirect landers and interstitials                                  */
/* ------------------------------------------------------------------ */

private rule quoted_redirect_code : phishing_kit low
{
    meta:
        description = "Helper, private (never reported on its own): redirect / auto-submit code shown as text in <pre>/<code>/<samp> blocks or as HTML-escaped markup, as security write-ups do; the redirect-lander rules below do not fire on such pages"
        author = "FerretWatch"
        reference = "Security blogs and awareness pages quoting phishing redirect code"
    strings:
        $quoted = /<(pre|code|samp)(\s[^>]{0,60})?>[^<]{0,150}(atob\s*\(|fromCharCode|navigator\.userAgent|location\.(replace|assign|href)|location\s*=|\.submit\s*\(|&lt;(meta|form|body|script))/
        $escaped = /&lt;(meta|form|body|script)[^&]{0,80}(http-equiv|onload|action|location)/ nocase
    condition:
        any of them
}

rule redirect_lander_encoded_target : phishing_kit medium
{
    meta:
        description = "Redirect lander: the target URL is hidden (atob of a base64 'http' string, or a shifted String.fromCharCode loop) and the page forwards the victim with location.replace/href while carrying location.hash (victim token/email) or screening crawlers by user agent; not when the code is only quoted in <pre>/<code> or as escaped markup"
        author = "FerretWatch"
        reference = "Phishing-email first hops on compromised sites, IPFS and free hosting that hide the real kit URL from scanners"
    strings:
        $d1 = /atob\s*\(\s*["'`]aHR0c(HM6Ly|DovL)/
        $d2 = /["'`]aHR0c(HM6Ly|DovL)[A-Za-z0-9+\/]{8,200}={0,2}["'`]/
        $d3 = /\+=\s*String\.fromCharCode\s*\(\s*[a-zA-Z_$][a-zA-Z0-9_$]{0,20}\[[a-zA-Z0-9_$]{1,10}\]\s*[-+^]\s*[0-9]{1,3}\s*\)/
        $d4 = /fromCharCode\s*\(\s*([0-9]{2,3}\s*[-+^]\s*[0-9]{1,3}\s*,\s*){6}/
        $d5 = /fromCharCode\.apply\s*\(\s*(null|String|this)\s*,\s*\[\s*([0-9]{2,3}\s*,\s*){10}/
        $atob = /atob\s*\(/
        $go1 = /location\.(replace|assign)\s*\(/
        $go2 = /location(\.href)?\s*=\s*[^=\s]/
        $h1 = /location\.(replace|assign)\s*\([^;]{0,100}location\.hash/
        $h2 = /location(\.href)?\s*=[^=;][^;]{0,100}location\.hash/
        $h3 = /location\.hash\.(substr|substring|slice|split|replace)\s*\(/
        $ua1 = /(bot|crawl|spider|slurp|headless|lighthouse|facebookexternalhit)[a-z|]{0,120}\/i?\.test\s*\(\s*navigator\.userAgent/ nocase
        $ua2 = /navigator\.userAgent[^;]{0,40}(match|search|indexOf|includes)\s*\(\s*\/?["']?[a-z|]{0,60}(bot|crawl|spider|headless)/ nocase
        $ua3 = /navigator\.webdriver/
    condition:
        not quoted_redirect_code and 1 of ($go*) and (
            (($d1 or ($d2 and $atob)) and (1 of ($h*) or 1 of ($ua*)))
            or (1 of ($d3, $d4, $d5) and (1 of ($h1, $h2) or 1 of ($ua*)))
        )
}

rule fake_cloudflare_interstitial_redirect : phishing_kit medium
{
    meta:
        description = "Imitation of a Cloudflare 'Just a moment / Verify you are human / Ray ID' check that is not a real Cloudflare challenge (no challenge-platform script) and instead forwards the visitor to another URL by script (not when quoted as code/escaped markup)"
        author = "FerretWatch"
        reference = "Fake bot-check gates placed in front of credential kits"
    strings:
        $t1 = "Verify you are human" nocase
        $t2 = /checking\s+(if\s+the\s+site\s+connection\s+is\s+secure|your\s+browser\s+before\s+accessing)/ nocase
        $t3 = /needs\s+to\s+review\s+the\s+security\s+of\s+your\s+connection/ nocase
        $t4 = "Just a moment..." nocase
        $cf1 = /Ray\s+ID/
        $cf2 = /(performance\s+(&amp;|&|and)\s+security\s+by|protected\s+by)\s+cloudflare/ nocase
        $real1 = "/cdn-cgi/challenge-platform/"
        $real2 = "_cf_chl_opt"
        $real3 = "challenges.cloudflare.com"
        $go1 = /location(\.href)?\s*=\s*["'`]https?:\/\//
        $go2 = /location\.(replace|assign)\s*\(\s*["'`]https?:\/\//
    condition:
        2 of ($t*) and 1 of ($cf*) and 1 of ($go*) and not 1 of ($real*) and not quoted_redirect_code
}

rule redirect_to_brand_prefixed_lookalike_host : phishing_kit medium
{
    meta:
        description = "Automatic redirect (meta refresh or script location change) to a host that starts with a well-known brand domain followed by further labels, e.g. https://brand.com.case-review.example/ (combosquatting / subdomain trick); not when the redirect is only quoted as code/escaped markup"
        author = "FerretWatch"
        reference = "Short-link and interstitial redirectors forwarding to brand.com.<attacker-domain> kits"
    strings:
        $m = /http-equiv\s*=\s*["']?refresh["']?[^>]{0,40}content\s*=\s*["']?[0-9]{1,3}\s*;\s*url\s*=\s*["']?https?:\/\/([a-z0-9-]{1,40}\.){0,3}(paypal|apple|icloud|microsoft|microsoftonline|office|office365|outlook|live|amazon|netflix|google|facebook|instagram|chase|wellsfargo|bankofamerica|citi|coinbase|binance|docusign|dropbox|adobe|linkedin|steamcommunity|yahoo|aol|dhl|usps|fedex)\.(com|net|org|co\.uk)[.-][a-z0-9-]{1,63}\.[a-z]{2,}/ nocase
        $j1 = /location(\.href)?\s*=\s*["'`]https?:\/\/([a-z0-9-]{1,40}\.){0,3}(paypal|apple|icloud|microsoft|microsoftonline|office|office365|outlook|live|amazon|netflix|google|facebook|instagram|chase|wellsfargo|bankofamerica|citi|coinbase|binance|docusign|dropbox|adobe|linkedin|steamcommunity|yahoo|aol|dhl|usps|fedex)\.(com|net|org|co\.uk)[.-][a-z0-9-]{1,63}\.[a-z]{2,}/ nocase
        $j2 = /location\.(replace|assign)\s*\(\s*["'`]https?:\/\/([a-z0-9-]{1,40}\.){0,3}(paypal|apple|icloud|microsoft|microsoftonline|office|office365|outlook|live|amazon|netflix|google|facebook|instagram|chase|wellsfargo|bankofamerica|citi|coinbase|binance|docusign|dropbox|adobe|linkedin|steamcommunity|yahoo|aol|dhl|usps|fedex)\.(com|net|org|co\.uk)[.-][a-z0-9-]{1,63}\.[a-z]{2,}/ nocase
        $proxy = /\.(com|net|org)\.(mcas\.ms|mcas-gov\.us|mcas-gov\.ms|translate\.goog)/ nocase
    condition:
        1 of ($m, $j*) and not $proxy and not quoted_redirect_code
}

rule autosubmit_post_victim_email : phishing_kit medium
{
    meta:
        description = "Self-submitting form (body onload / script calls form.submit()) that POSTs a hard-coded victim e-mail address in a hidden field to an off-site .php endpoint - personalised hop from a phishing e-mail to the kit (not when quoted as code/escaped markup)"
        author = "FerretWatch"
        reference = "Auto-POST redirectors that hand the target's address to the credential page"
    strings:
        $as1 = /onload\s*=\s*["']?\s*(document\.forms\s*\[\s*0\s*\]|document\.getElementById\s*\([^)]{1,40}\)|document\.[a-zA-Z_]{1,30}|this\.[a-zA-Z_]{1,30})\.submit\s*\(\s*\)/
        $as2 = /document\.forms\s*\[\s*0\s*\]\.submit\s*\(\s*\)/
        $act = /action\s*=\s*["']?https?:\/\/[^"'\s>]{1,120}\.php/ nocase
        $sso1 = "SAMLResponse"
        $sso2 = "SAMLRequest"
        $sso3 = "RelayState"
        $sso4 = /name\s*=\s*["']?(id_token|wresult|wctx)["'\s>]/
    condition:
        1 of ($as*) and hidden_input_with_email and $act and not 1 of ($sso*) and not quoted_redirect_code
}

/* ------------------------------------------------------------------ */
/* Lure-themed credential / card harvesting                            */
/* ------------------------------------------------------------------ */

rule fake_document_share_login : credential_harvest high
{
    meta:
        description = "Fake shared-document lure (DocuSign/OneDrive/SharePoint/Adobe/Excel/Google Docs/Dropbox 'shared a document with you', 'this document is protected', 'sign in to view') with an email + password form, often over a blurred document preview"
        author = "FerretWatch"
        reference = "Document-share credential phishing"
    strings:
        $b1 = "DocuSign" nocase
        $b2 = "OneDrive" nocase
        $b3 = "SharePoint" nocase
        $b4 = "Adobe" nocase
        $b5 = "Dropbox" nocase
        $b6 = "WeTransfer" nocase
        $b7 = "Excel Online" nocase
        $b8 = /(office|microsoft)\s*365/ nocase
        $b9 = /google\s+(docs|drive|sheets)/ nocase
        $b10 = /(acrobat|pdf\s+online)/ nocase
        $sh1 = /shared\s+(a|an|the)\s+(secure\s+)?(document|file|folder|pdf|invoice|contract)\s+with\s+you/ nocase
        $sh2 = /(view|open|review|access|download)\s+(the\s+)?(shared\s+)?(document|file|pdf|invoice)/ nocase
        $sh3 = /(secure|protected|encrypted)\s+(document|file|pdf)/ nocase
        $sh4 = /(\.(pdf|docx?|xlsx?|pptx?)|document|file|folder|invoice|workbook)\s+(was|has\s+been)\s+shared\s+with\s+you/ nocase
        $sh5 = /(this|the)\s+(document|file|pdf|workbook|spreadsheet|invoice)\s+is\s+(protected|secured|encrypted|password[\s-]protected|restricted)/ nocase
        $sh6 = /(pdf|document|file)\s+(online\s+)?viewer/ nocase
        $ac1 = /(sign\s*in|log\s*in|verify|confirm|enter)\s+(with\s+)?(your\s+)?(email|e-mail|recipient email|email address)[^<]{0,60}(view|access|open|download)/ nocase
        $ac2 = /(to|in\s+order\s+to)\s+(view|access|open|download)\s+(this|the)\s+(shared\s+)?(document|file|pdf|invoice)/ nocase
        $ac3 = /(sign\s*in|log\s*in)\s+(to\s+your\s+[a-z0-9 ]{2,30}\s+account\s+)?to\s+(view|access|open|download)/ nocase
        $ac4 = /(enter|confirm)\s+your\s+(email\s+)?password\s+to\s+(continue|view|access|open)/ nocase
        $blur = /filter\s*:\s*blur\s*\(\s*[1-9]/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        1 of ($b*) and 1 of ($ac*) and $pw
        and 1 of ($sh1, $sh3, $sh4, $sh5) and (2 of ($sh*) or $blur)
}

rule webmail_quota_reauth_lure : credential_harvest medium
{
    meta:
        description = "Webmail account lure (mailbox full / quota exceeded / password expires / keep same password / pending messages) with a password field"
        author = "FerretWatch"
        reference = "Mailbox-quota and password-expiry phishing"
    strings:
        $q1 = /mailbox\s+(is\s+)?(almost\s+)?(full|over\s+quota)/ nocase
        $q2 = /(storage|mailbox|email)\s+quota/ nocase
        $q3 = /keep\s+(the\s+)?(same|current|my)\s+password/ nocase
        $q4 = /(password|account)\s+(will\s+)?expires?\s+(today|soon|in\s+[0-9]{1,2}\s+(hours|days))/ nocase
        $q5 = /(pending|held|undelivered|incoming)\s+(messages|emails|mails)/ nocase
        $q6 = /(upgrade|verify|validate|revalidate|reactivate)\s+(your\s+)?(mailbox|email\s+account|webmail)/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        2 of ($q*) and $pw
}

rule parcel_fee_card_harvest : credential_harvest high
{
    meta:
        description = "Courier-branded 'parcel on hold / pay customs or redelivery fee' page with a small amount and card number + CVV + expiry fields"
        author = "FerretWatch"
        reference = "Parcel/customs smishing landing pages (USPS, DHL, Royal Mail, Evri, ...)"
    strings:
        $cr1 = "USPS" nocase
        $cr2 = "DHL" nocase
        $cr3 = "FedEx" nocase
        $cr4 = "Royal Mail" nocase
        $cr5 = "Canada Post" nocase
        $cr6 = "Australia Post" nocase
        $cr7 = "La Poste" nocase
        $cr8 = "Correos" nocase
        $cr9 = "Evri" fullword
        $cr10 = "PostNL" nocase
        $cr11 = "UPS" fullword
        $cr12 = "Poste Italiane" nocase
        $l1 = /(package|parcel|shipment|item)\s+(is\s+|has\s+been\s+|is\s+being\s+|was\s+)?(on\s+hold|held|suspended|could\s+not\s+be\s+delivered|was\s+not\s+delivered|undeliverable)/ nocase
        $l2 = /(customs|redelivery|re-delivery|reshipment|re-shipping)\s+(fee|charge|duty|duties|payment)/ nocase
        $l3 = /(pay|settle)\s+(the\s+|a\s+)?(small\s+)?(re)?delivery\s+(fee|charge)/ nocase
        $l4 = /(incomplete|invalid|incorrect)\s+(delivery\s+|street\s+)?address/ nocase
        $l5 = /(reschedule|schedule)\s+(your\s+)?(re)?delivery/ nocase
        $amt = /(\$|\xC2\xA3|\xE2\x82\xAC|&pound;|&euro;|usd|eur|gbp)\s?[0-4][.,][0-9]{2}/ nocase
        $amt2 = /[0-4][.,][0-9]{2}\s?(\xE2\x82\xAC|&euro;|eur|usd|gbp)/ nocase
        $cn = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(card_?number|card_?no|card number|cardnumber|cc-number|ccnum|cc_num|card-number|pan)["'\s>]/ nocase
        $cv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|csc|security ?code)/ nocase
        $ex = /expir(y|ation)|exp\.?\s*date|mm\s*\/\s*yy|cc-exp/ nocase
        $ex2 = /(name|id|placeholder|autocomplete)\s*=\s*["']?(mm|yy|yyyy|exp_?(month|year|mm|yy)|expiry_?(month|year)|cc-exp-(month|year))["'\s>]/ nocase
    condition:
        1 of ($cr*) and 1 of ($l*) and 1 of ($amt*) and $cn and $cv and 1 of ($ex*)
}

rule fullz_identity_harvest_form : credential_harvest high
{
    meta:
        description = "Form inputs for mother's maiden name together with SSN, ATM/card PIN or CVV - 'fullz' collection typical of bank phishing kits"
        author = "FerretWatch"
        reference = "Bank kits harvesting identity data beyond credentials"
    strings:
        $mmn = /(name|id|placeholder|aria-label)\s*=\s*["']?[^"'>]{0,30}(mmn|maiden)/ nocase
        $f_ssn = /(name|id|placeholder|aria-label)\s*=\s*["']?[^"'>]{0,30}(ssn|social\s*security|social_security)/ nocase
        $f_pin = /(name|id)\s*=\s*["']?(atm_?pin|card_?pin|pin_?code|pin|atmpin|cardpin)["'\s>]/ nocase
        $f_cvv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc)/ nocase
    condition:
        $mmn and 2 of ($f_*)
}

/* ------------------------------------------------------------------ */
/* Crypto scams                                                        */
/* ------------------------------------------------------------------ */

rule wallet_drainer_approval_or_permit : crypto_scam high
{
    meta:
        description = "Wallet drainer: connects the wallet (eth_requestAccounts) then requests setApprovalForAll / unlimited approve or a Permit typed-data signature (literal primaryType or an EIP-712 Permit type table, e.g. built from a string array), behind an airdrop/claim/mint lure or with a literal max-uint value/amount (or raw approve/setApprovalForAll calldata padded with max-uint); not when the calls only appear as quoted text (<pre>/<code>/prose, counted against their occurrences) or in an article explaining drainers"
        author = "FerretWatch"
        reference = "NFT/ERC-20 drainer kits abusing approvals and Permit signatures"
    strings:
        $req1 = "eth_requestAccounts"
        $req2 = "wallet_requestPermissions"
        $ap1 = "setApprovalForAll"
        $ap2 = /\.approve\s*\([^)]{0,120}(115792089237316195423570985008687907853269984665640564039457584007913129639935|0x[fF]{64}|MaxUint256)/
        $ap3 = /["'`]0x(a22cb465|095ea7b3|39509351)[^0-9a-fA-F]/
        $sig = /eth_signTypedData(_v[34])?|signTypedData/
        $permit = /primaryType["']?\s*:\s*["'](Permit|PermitSingle|PermitBatch|PermitTransferFrom|PermitBatchTransferFrom)["']/
        $permit2 = /Permit(Single|Batch|TransferFrom|BatchTransferFrom)?["']?\s*:\s*\[\s*\{\s*["']?name["']?\s*:\s*["'](owner|details|permitted|spender)["']/
        $lure1 = /claim\s+(your\s+)?(free\s+)?(airdrop|reward|rewards|tokens?|nft|allocation)/ nocase
        $lure2 = "airdrop" nocase
        $lure3 = /(free|exclusive|whitelist)\s+mint/ nocase
        $lure4 = /you\s+are\s+eligible/ nocase
        $lure5 = /(check|verify)\s+(your\s+)?(wallet\s+)?eligibility/ nocase
        $max1 = /(value|amount|allowance|wad)["']?\s*:\s*["']?(115792089237316195423570985008687907853269984665640564039457584007913129639935|0x[fF]{64})/
        $max2 = /["'`]0x(a22cb465|095ea7b3|39509351)["'`]?\s*\+[^;]{0,120}(115792089237316195423570985008687907853269984665640564039457584007913129639935|[fF]{64}|MAX)/
        $cx1 = /<(pre|code|span|samp|kbd|p|li|td|em|strong|b|i)(\s[^>]{0,60})?>[^<]{0,150}(eth_requestAccounts|wallet_requestPermissions)/
        $cx2 = /<(pre|code|span|samp|kbd)(\s[^>]{0,60})?>[^<]{0,150}(eth_signTypedData|setApprovalForAll)/
        $ex1 = /(how|why)\s+(wallet\s+|crypto\s+)?drainers?\s+(work|steal|operate)/ nocase
        $ex2 = /drainer[\s-]as[\s-]a[\s-]service/ nocase
        $ex3 = /(revoke|review)\s+(old\s+|your\s+|unused\s+|token\s+)?(approvals|allowances)/ nocase
        $ex4 = /read\s+what\s+you\s+(sign|approve)/ nocase
        $ex5 = /(protect|defend)\s+(your\s+wallet|yourself)\s+(from|against)/ nocase
    condition:
        1 of ($req*)
        and (
            ((1 of ($ap1, $ap2) or ($sig and 1 of ($permit*))) and (1 of ($lure*) or $max1))
            or ($ap3 and (1 of ($lure*) or $max2))
        )
        and not (1 of ($cx*) and 1 of ($ex*))
        and not ($cx1 and #req1 + #req2 <= 2 * #cx1)
}

rule wallet_drainer_base64_hidden_calls : crypto_scam high
{
    meta:
        description = "Drainer whose wallet calls are hidden in base64 (ethereum.request / requestAccounts plus signTypedData, setApprovalForAll, increaseAllowance or sendTransaction only readable after decoding) and executed through atob + eval / new Function"
        author = "FerretWatch"
        reference = "Obfuscated NFT/ERC-20 drainer loaders that keep eth_* method names out of plain text"
    strings:
        $q1 = "requestAccounts" base64
        $q2 = "ethereum.request" base64
        $q3 = "wallet_requestPermissions" base64
        $a1 = "signTypedData" base64
        $a2 = "setApprovalForAll" base64
        $a3 = "increaseAllowance" base64
        $a4 = "sendTransaction" base64
        $a5 = "primaryType" base64
        $atob = /atob\s*\(/
        $x1 = /new\s+Function\s*\(/
        $x2 = /eval\s*\(/
        $x3 = /createElement\s*\(\s*["']script["']\s*\)/
    condition:
        1 of ($q*) and 1 of ($a*) and $atob and 1 of ($x*)
}

rule wallet_drainer_config_object : crypto_scam high
{
    meta:
        description = "Drainer-kit configuration object: a hard-coded receiver wallet address next to drain/approval switches (drain* / usePermit2 / useSeaport), a minimum-value threshold, a Telegram bot log channel or a logging endpoint"
        author = "FerretWatch"
        reference = "Drainer-as-a-service kits configured through an inline settings object"
    strings:
        $recv = /(receiver|recipient|receive_?address|wallet_?receiver|drainer_?address|payout_?address)["']?\s*:\s*["']0x[0-9a-fA-F]{40}["']/ nocase
        $k1 = /(use|enable)_?(permit2?|seaport|blur|nfts?|approve|approvals)["']?\s*:\s*(true|!0|1)\b/ nocase
        $k2 = /drain[_a-zA-Z]{0,20}["']?\s*:\s*(true|!0|1)\b/ nocase
        $k3 = /min_?(value|balance|amount|usd)(_?usd|_?eth)?["']?\s*:\s*["']?[0-9]/ nocase
        $k4 = /(telegram|tg)["']?\s*:\s*\{\s*["']?(bot|token|chat)/ nocase
        $k5 = /log_?(domain|url|server|endpoint|api)["']?\s*:\s*["']https?:/ nocase
    condition:
        $recv and ($k2 or $k4) and 3 of ($k*)
}

rule seed_phrase_input_harvest : crypto_scam high
{
    meta:
        description = "Text area or input explicitly asking for a wallet seed/recovery phrase, mnemonic or private key on a page naming wallet products"
        author = "FerretWatch"
        reference = "Fake wallet 'import/restore/validate' pages"
    strings:
        $ta1 = /(name|id|placeholder|aria-label)\s*=\s*["'][^"']{0,60}(seed ?phrase|recovery ?phrase|secret ?phrase|wallet ?phrase|mnemonic|private ?key|keystore|12 words|24 words|12-word|24-word)/ nocase
        $ta2 = /(name|id)\s*=\s*["'](phrase|seed|mnemonic|seedphrase|seed_phrase|word_?1|phrase_?1)["']/ nocase
        $kw1 = "recovery phrase" nocase
        $kw2 = "seed phrase" nocase
        $kw3 = "mnemonic" nocase
        $kw4 = "private key" nocase
        $kw5 = /(12|24)[- ]word/ nocase
        $w1 = "MetaMask" nocase
        $w2 = "Trust Wallet" nocase
        $w3 = "Phantom" nocase
        $w4 = "Ledger" nocase
        $w5 = "Coinbase Wallet" nocase
        $w6 = "Exodus" nocase
        $w7 = "WalletConnect" nocase
        $w8 = "Trezor" nocase
        $w9 = "Atomic Wallet" nocase
    condition:
        1 of ($ta*) and 1 of ($kw*) and 1 of ($w*)
}

rule fake_wallet_connect_manual_import : crypto_scam high
{
    meta:
        description = "Fake WalletConnect 'connect manually' dialog: Phrase / Keystore JSON / Private Key tabs or 'Typically 12 (sometimes 24) words' hint, with a multi-wallet picker"
        author = "FerretWatch"
        reference = "Wallet-validation / rectification phishing templates"
    strings:
        $t1 = /typically\s+12\s*\(\s*sometimes\s+(18|24)/ nocase
        $tab_phrase = />\s*Phrase\s*</ nocase
        $tab_keystore = />\s*Keystore(\s+JSON)?\s*</ nocase
        $tab_pk = />\s*Private\s+Key\s*</ nocase
        $w1 = "MetaMask" nocase
        $w2 = "Trust Wallet" nocase
        $w3 = "Phantom" nocase
        $w4 = "Ledger" nocase
        $w5 = "Coinbase Wallet" nocase
        $w6 = "Exodus" nocase
        $w7 = "WalletConnect" nocase
        $w8 = "Trezor" nocase
        $w9 = "Atomic Wallet" nocase
    condition:
        ($t1 or all of ($tab_*)) and 2 of ($w*)
}

rule crypto_giveaway_doubling_scam : crypto_scam high
{
    meta:
        description = "Crypto 'giveaway' that asks to send coins to an address and promises double back"
        author = "FerretWatch"
        reference = "Celebrity/exchange doubling giveaway scams"
    strings:
        $g1 = "giveaway" nocase
        $g2 = "give away" nocase
        $d1 = /(send|deposit|transfer)\s+(from\s+)?[0-9.,]{1,10}\s*(btc|eth|usdt|sol|xrp|doge|bnb|ada|trx)[^.<]{0,80}(get|receive)\s+[0-9.,]{1,10}\s*(btc|eth|usdt|sol|xrp|doge|bnb|ada|trx)\s+back/ nocase
        $d2 = /(double|x2|2x)\s+(your\s+)?(btc|eth|crypto|coins|deposit|bitcoin|ethereum)/ nocase
        $d3 = /(receive|get)\s+(double|2x|x2|twice)/ nocase
        $a1 = /bc1[a-z0-9]{25,60}/
        $a2 = /0x[a-fA-F0-9]{40}/
    condition:
        1 of ($g*) and 1 of ($d*) and 1 of ($a*)
}

/* ------------------------------------------------------------------ */
/* Tech-support scams                                                  */
/* ------------------------------------------------------------------ */

rule tech_support_blocked_screen : tech_support_scam high
{
    meta:
        description = "Fake Microsoft/Windows/Apple/Google security alert ('your computer / iPhone / device has been blocked or infected', fake BSOD, call support) with a toll-free support number and scare wording"
        author = "FerretWatch"
        reference = "Tech-support scam landing pages (desktop and mobile variants)"
    strings:
        $b1 = "Windows Defender" nocase
        $b2 = "Microsoft Defender" nocase
        $b3 = "Windows Security" nocase
        $b4 = "Microsoft Support" nocase
        $b5 = "Windows Firewall" nocase
        $b6 = "Microsoft Windows" nocase
        $b7 = "Apple Support" nocase
        $b8 = "Windows Support" nocase
        $b9 = /windows\s+(warning|alert|detected|has\s+detected|security\s+alert)/ nocase
        $b10 = /apple\s+(security|icloud)\s+(alert|warning|center|centre)/ nocase
        $b11 = /(google|android|samsung)\s+(security|support)/ nocase
        $s1 = /your\s+(computer|pc|system|device|mac|macbook|iphone|ipad|android|phone|laptop|windows)\s+(has\s+been|is|was|may\s+be)\s+(blocked|locked|infected|compromised|hacked|damaged)/ nocase
        $s2 = /do\s+not\s+(restart|shut\s*down|turn\s+off|close\s+this\s+(page|window)|ignore\s+this)/ nocase
        $s3 = /(call|contact)\s+(microsoft|windows|apple|google|android|samsung)(\s+technical)?\s+support/ nocase
        $s4 = /(trojan|spyware|virus|pornographic|zeus)[^<]{0,40}(detected|infection|alert|warning)/ nocase
        $s5 = /error\s*(#|code:?)\s*(0x)?[0-9a-fA-F]{4,8}\b/ nocase
        $s6 = /access\s+to\s+this\s+(pc|computer|device)\s+has\s+been\s+blocked/ nocase
        $s7 = /(detected|found)\s+[^<.]{0,40}(virus|viruses|trojan|spyware|malware|adware)/ nocase
        $s8 = /infected\s+with\s+[^.]{0,40}(virus|viruses|trojans?|spyware|malware)/ nocase
        $s9 = /(banking|personal)\s+(and\s+(banking|personal)\s+)?(information|data|details)\s+(may\s+be|is|are)\s+(at\s+risk|stolen|compromised)/ nocase
        $tf = /(call|support|helpline|help\s+line|toll[\s\-]?free|hotline|technician)[^<]{0,30}\(?8(00|33|44|55|66|77|88)\)?[ .\-][0-9]{3}[ .\-][0-9]{4}/ nocase
        $guide = /(tech(nical)?\s+support\s+scams?|scammers|is\s+a\s+scam)/ nocase
        $x1 = /requestFull[sS]creen\s*\(/
        $x2 = /<audio[^>]{0,200}(autoplay|loop)/ nocase
        $x3 = "onbeforeunload"
        $x4 = /setInterval\s*\([^)]{0,60}alert/
        $x5 = /for\s*\([^)]{0,40}\)\s*\{?\s*alert\s*\(/
        $x6 = /history\.pushState\s*\([^)]{0,60}\)\s*;?\s*(window\.)?onpopstate/
        $x7 = /navigator\.vibrate\s*\(/
        $x8 = /<embed[^>]{0,200}(autostart|loop)\s*=\s*["']?true/ nocase
    condition:
        1 of ($b*) and $tf and (3 of ($s*) or (2 of ($s*) and 1 of ($x*))) and not $guide
}

rule tech_support_browser_locker : tech_support_scam high
{
    meta:
        description = "Browser locker: forced fullscreen + looping alarm audio + keyboard/pointer lock, back-button trap or exit prompt, with a toll-free number"
        author = "FerretWatch"
        reference = "Tech-support scam browser lockers"
    strings:
        $fs1 = /requestFullscreen\s*\(/
        $fs2 = /webkitRequestFull[sS]creen\s*\(/
        $fs3 = /mozRequestFullScreen\s*\(/
        $fs4 = /msRequestFullscreen\s*\(/
        $au1 = /<audio[^>]{0,200}loop/ nocase
        $au2 = /\.loop\s*=\s*true/
        $au3 = /new\s+Audio\s*\(/
        $au4 = /createOscillator\s*\(/
        $lk1 = /navigator\.keyboard\.lock\s*\(/
        $lk2 = /requestPointerLock\s*\(/
        $lk3 = /history\.pushState\s*\(/
        $lk4 = "onbeforeunload"
        $lk5 = /addEventListener\s*\(\s*["']beforeunload["']/
        $tf = /\(?8(00|33|44|55|66|77|88)\)?[ .\-][0-9]{3}[ .\-][0-9]{4}/
    condition:
        1 of ($fs*) and 1 of ($au*) and 1 of ($lk*) and $tf
}

rule fake_antivirus_scan_renewal_lure : tech_support_scam medium
{
    meta:
        description = "Fake antivirus scan result ('your PC/phone is infected with N viruses') combined with an expired-subscription / renew-now push, typically an affiliate redirect or a browser notification lure"
        author = "FerretWatch"
        reference = "Fake AV scareware pages monetised through antivirus affiliate programmes"
    strings:
        $av = /(mcafee|norton|avast|avg\s+(antivirus|internet)|kaspersky|bitdefender|total\s?av|malwarebytes|windows\s+defender|eset)/ nocase
        $inf = /(pc|computer|device|iphone|android|mac|phone|system|laptop)\s+(is|has\s+been|may\s+be|was)\s+infected\s+with\s+(\(?[0-9]{1,3}\)?|several|multiple)\s+(viruses|threats|trojans|malware)/ nocase
        $exp = /(subscription|license|licence|protection)\s+(has\s+|is\s+)?expired/ nocase
        $r1 = /(renew|reactivate|activate|restore)\s+(now|today|your\s+(subscription|protection|license|licence|antivirus))/ nocase
        $r2 = /scan\s+results?|threats?\s+(found|detected)/ nocase
        $r3 = /new\s+Notification\s*\(/
        $r4 = /(aff_?id|affiliate|offer_id|sub_?id|clickid)=/ nocase
        $guide = /(tech(nical)?\s+support\s+scams?|scareware|scammers|is\s+a\s+scam|fake\s+(virus|antivirus|security)\s+(alerts?|warnings?|pop-?ups?))/ nocase
    condition:
        $av and $inf and $exp and 2 of ($r*) and not $guide
}

/* ------------------------------------------------------------------ */
/* Prize / gift-card scams                                             */
/* ------------------------------------------------------------------ */

rule prize_survey_lure : gift_card_scam medium
{
    meta:
        description = "'Congratulations, you have been selected / lucky visitor' prize page with a claim call-to-action plus survey, countdown, reservation timer or limited-stock pressure"
        author = "FerretWatch"
        reference = "Fake survey / spin-the-wheel / lucky-visitor reward scams"
    strings:
        $c = "congratulations" nocase
        $sel1 = /you('ve|\s+have)\s+been\s+(randomly\s+)?(selected|chosen)/ nocase
        $sel2 = /lucky\s+(visitor|winner|user|customer)/ nocase
        $sel3 = /you('ve|\s+have)?\s+won\s+(a|an|the)\s/ nocase
        $sel4 = /randomly\s+(select|selected|pick|picked|choose|chosen)\s+[0-9]{1,3}\s+(lucky\s+)?(users|visitors|winners|customers|people|participants)/ nocase
        $cl1 = /claim\s+((your|my|the)\s+(free\s+)?(reward|prize|gift|iphone|phone|voucher|bonus)|now|it\b)/ nocase
        $cl2 = /(collect|get)\s+your\s+(free\s+)?(reward|prize|gift)/ nocase
        $cl3 = /(click|tap|press)\s+(ok|here|below|the\s+button)\s+to\s+(claim|collect|receive|get)/ nocase
        $cl4 = /claim\s+(reward|prize|gift|it\s+now)/ nocase
        $st1 = /question\s+[1-9]\s+(of|\/)\s+[1-9]/ nocase
        $st2 = /only\s+[0-9]{1,4}\s+([a-z]{2,15}\s+)?(left|remaining|rewards?|prizes?|gifts?)/ nocase
        $st3 = /(offer|this\s+page|reward|prize|session)\s+(expires|will\s+expire)\s+in/ nocase
        $st4 = /(answer|complete)\s+(the|a|this|our)\s+(following\s+)?(short\s+)?(survey|questions?|questionnaire)/ nocase
        $st5 = /spin\s+the\s+wheel/ nocase
        $st6 = /(reserved|held|valid|available)\s+(for|until)[^0-9]{0,40}[0-5]?[0-9]:[0-5][0-9]/ nocase
        $disc = /(won|win|get|unlocked)\s+(a\s+|an\s+)?[0-9]{1,2}\s?%\s*(off|discount)|(discount|coupon|promo)\s+code/ nocase
    condition:
        $c and 1 of ($sel*) and 1 of ($cl*) and 1 of ($st*) and not $disc
}

rule prize_share_to_unlock_lure : gift_card_scam medium
{
    meta:
        description = "Fake giveaway that makes the prize depend on sharing the campaign with N friends/groups on WhatsApp (or similar) after a short survey - viral 'anniversary voucher' scams"
        author = "FerretWatch"
        reference = "WhatsApp-spread brand anniversary / free voucher survey scams"
    strings:
        $sh1 = /share\s+(this\s+|the\s+)?(campaign|offer|promotion|promo|page|link|message|giveaway|with)[^.<]{0,40}[0-9]{1,3}\s+(friends|groups|contacts|people|chats)/ nocase
        $sh2 = /(invite|send\s+(this|it)\s+to)\s+[0-9]{1,3}\s+(friends|groups|contacts)/ nocase
        $app1 = "WhatsApp" nocase
        $app2 = "Telegram" nocase
        $app3 = "Messenger" nocase
        $pz1 = /(gift\s*card|voucher|coupon|reward|prize|free\s+gift)/ nocase
        $pz2 = /(giving\s+away|giveaway|free\s+[^.<]{0,30}subscription)/ nocase
        $pr1 = "congratulations" nocase
        $pr2 = /(short|quick|our|[0-9])\s+(quick\s+|short\s+)?(survey|questionnaire|quiz|questions)/ nocase
        $pr3 = /only\s+[0-9]{1,4}\s+([a-z]{2,15}\s+)?(left|remaining)/ nocase
        $pr4 = /(anniversary|birthday)\s+(celebration|giveaway|gift|offer|promotion)|celebrating\s+(its|our)\s+[0-9]{1,3}(st|nd|rd|th)?\s+(anniversary|birthday)/ nocase
        $pr5 = /[0-9,]{1,7}\s+lucky\s+(people|users|winners|visitors|customers|participants)/ nocase
    condition:
        1 of ($sh*) and 1 of ($app*) and 1 of ($pz*) and 2 of ($pr*)
}

rule gift_card_prize_shipping_fee_card : gift_card_scam high
{
    meta:
        description = "Gift-card or gadget 'prize' (you won / lucky winner) that asks for a small shipping/processing fee by card (card number + CVV) - subscription-trap / card-harvest"
        author = "FerretWatch"
        reference = "Gift-card and free-phone giveaway card-harvest pages"
    strings:
        $gc1 = /(amazon|walmart|target|apple|google\s+play|steam|costco|visa|cvs|home\s+depot|kroger|starbucks|sephora)\s+gift\s*card/ nocase
        $gc2 = /\$\s?(100|250|500|750|1,?000)\s+(gift\s*card|voucher)/ nocase
        $gc3 = /(iphone|ipad|macbook|airpods|apple\s+watch|samsung\s+galaxy|galaxy\s+s[0-9]{2}|playstation|xbox\s+series|nintendo\s+switch|dyson\s+(airwrap|v[0-9]{1,2}))/ nocase
        $won1 = /you('ve|\s+have)?\s+(won|been\s+selected|been\s+chosen)/ nocase
        $won2 = /(lucky|today's)\s+(winners?|visitor)/ nocase
        $won3 = /claim\s+your\s+(free\s+)?(reward|prize|gift)/ nocase
        $fee = /(shipping|delivery|handling|processing)(\s+(fee|cost|charge))?\s*(of\s+)?(only\s+)?(just\s+)?:?\s*(\$|\xC2\xA3|\xE2\x82\xAC|&pound;|&euro;|usd)\s?[0-9]{1,2}[.,][0-9]{2}/ nocase
        $card = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(card_?number|card_?no|card number|cardnumber|cc-number|ccnum|cc_num|card-number)/ nocase
        $cvv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|csc|security ?code)/ nocase
    condition:
        1 of ($gc*) and 1 of ($won*) and $fee and $card and $cvv
}

/* ------------------------------------------------------------------ */
/* Malware delivery                                                    */
/* ------------------------------------------------------------------ */

rule html_smuggling_payload : malware_dropper high
{
    meta:
        description = "HTML smuggling: base64 payload decoded with atob into a Blob and saved via createObjectURL/msSaveOrOpenBlob as an archive/executable/script file"
        author = "FerretWatch"
        reference = "HTML smuggling of ISO/ZIP/JS/HTA payloads"
    strings:
        $blob = /new\s+Blob\s*\(\s*\[/
        $atob = /atob\s*\(/
        $url1 = /URL\.createObjectURL\s*\(/
        $url2 = "msSaveOrOpenBlob"
        $url3 = "msSaveBlob"
        $dl1 = /\.download\s*=\s*["'][^"']{1,80}\.(zip|iso|img|vhd|vhdx|exe|msi|js|jse|vbs|vbe|hta|lnk|scr|rar|7z|one|wsf|bat|cmd|ps1)["']/ nocase
        $dl2 = /(msSaveOrOpenBlob|msSaveBlob)\s*\([^)]{0,80}["'][^"']{1,80}\.(zip|iso|img|exe|msi|js|vbs|hta|lnk|scr|rar|7z|one|wsf|bat|cmd|ps1)["']/ nocase
        $dl3 = /setAttribute\s*\(\s*["']download["']\s*,\s*["'][^"']{1,80}\.(zip|iso|img|exe|msi|js|vbs|hta|lnk|scr|rar|7z|one|wsf|bat|cmd|ps1)["']/ nocase
    condition:
        $blob and $atob and 1 of ($url*) and 1 of ($dl*)
}

rule clickfix_clipboard_command_lure : malware_dropper high
{
    meta:
        description = "ClickFix / fake CAPTCHA: script copies a PowerShell/mshta/cmd command to the clipboard and tells the user to press Win+R and paste"
        author = "FerretWatch"
        reference = "Fake 'verify you are human' clipboard-injection lures"
    strings:
        $cb1 = /navigator\.clipboard\.writeText\s*\(/
        $cb2 = /execCommand\s*\(\s*["']copy["']/
        $cmd1 = /powershell(\.exe)?\s+(-w|-nop|-ep|-e\s|-enc|-c\s|-command|-windowstyle|-noprofile|-executionpolicy)/ nocase
        $cmd2 = /mshta(\.exe)?\s+["']?https?:/ nocase
        $cmd3 = /(iex|invoke-expression)\s*[\(\s]/ nocase
        $cmd4 = /cmd(\.exe)?\s+\/c\s/ nocase
        $cmd5 = /(curl|wget)\s[^"'\n]{0,100}\|\s*(sh|bash|zsh)/ nocase
        $cmd6 = /msiexec(\.exe)?\s+\/[iq]/ nocase
        $ins1 = /win(dows)?(\s+key)?\s*\+\s*r/ nocase
        $ins2 = /(ctrl|control)\s*\+\s*v/ nocase
        $ins3 = /(verify\s+(that\s+)?you\s+are\s+(a\s+)?human|i'?m\s+not\s+a\s+robot|verification\s+steps)/ nocase
        $ins4 = /(open|launch)\s+(the\s+)?(run\s+dialog|terminal|command\s+prompt|powershell)/ nocase
    condition:
        1 of ($cb*) and 1 of ($cmd*) and 2 of ($ins*)
}

rule fake_browser_update_download : malware_dropper medium
{
    meta:
        description = "Fake browser/font update overlay ('your browser is out of date', 'critical update', missing font) linking to an executable or archive download"
        author = "FerretWatch"
        reference = "FakeUpdates / fake font-pack drive-by lures"
    strings:
        $u1 = /(your\s+)?(browser|chrome|firefox|edge)\s+(is\s+)?(out\s*of\s*date|outdated|needs?\s+(to\s+be\s+)?updat)/ nocase
        $u2 = /(critical|urgent|required|important)\s+(security\s+)?(browser\s+)?update/ nocase
        $u3 = /(update|install)\s+(chrome|firefox|edge|browser)\s+(now|required)/ nocase
        $u4 = /(an\s+error\s+occurred|failed)\s+(in\s+)?(displaying|loading|to\s+load)\s+(this\s+)?(page|webpage)/ nocase
        $u5 = /(font|font\s+pack)\s+(was\s+not|wasn't|was\s+n't)\s+found/ nocase
        $dl1 = /href\s*=\s*["'][^"']{0,200}\.(exe|msi|msix|zip|apk|js|hta|iso|appx|scr)["']/ nocase
        $dl2 = /location(\.href)?\s*=\s*["'][^"']{0,200}\.(exe|msi|msix|zip|apk|js|hta|iso|appx|scr)["']/ nocase
    condition:
        2 of ($u*) and 1 of ($dl*)
}
