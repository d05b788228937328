/*
 * FerretWatch default rule set.
 *
 * Scanned buffer: a web page's HTML source + its visible text + its inline
 * scripts, concatenated. Text may therefore appear more than once; rules
 * never depend on match counts of a single literal for that reason.
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

rule kit_php_gate_branded_login : phishing_kit high
{
    meta:
        description = "Brand-impersonating login form (email + password) posting to a typical kit gate script such as next.php / post.php / send.php"
        author = "FerretWatch"
        reference = "Common gate file names in Office365/Adobe/bank phishing kits"
    strings:
        $gate = /action\s*=\s*["']?([a-zA-Z0-9_\-\.:\/]{0,100}\/)?(next|next[0-9]|post|send|sendmail|mail|mailer|res|rez|result|results|step[0-9]|go|xx|ok|logs)\.php/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
        $user = /name\s*=\s*["']?(email|e-mail|login|username|user|userid|ai|em|eml|loginfmt)["'\s>]/ nocase
        $b_title = /<title>[^<]{0,100}(microsoft|office\s*365|outlook|onedrive|sharepoint|adobe|docusign|wells\s*fargo|bank\s+of\s+america|chase|paypal|apple\s+id|icloud|netflix|webmail|dropbox|excel|godaddy|aol|yahoo)/ nocase
        $b_alt = /alt\s*=\s*["'][^"']{0,20}(microsoft|office|outlook|onedrive|sharepoint|adobe|docusign|wells\s*fargo|bank\s+of\s+america|chase|paypal|apple|netflix|webmail|dropbox|excel|aol|yahoo)/ nocase
        $b_logo = /src\s*=\s*["'][^"']{0,120}(microsoft|office365|o365|outlook|onedrive|sharepoint|adobe|docusign|wellsfargo|wells_fargo|bofa|chase|paypal|apple|netflix|dropbox|aol|yahoo)[^"']{0,40}\.(png|svg|jpg|jpeg|gif|ico|webp)/ nocase
    condition:
        $gate and $pw and $user and 1 of ($b_*)
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
        $hid1 = /type\s*=\s*["']?hidden["']?[^>]{0,120}value\s*=\s*["']?[a-zA-Z0-9._%+\-]{1,64}@[a-zA-Z0-9.\-]{1,64}\.[a-zA-Z]{2,10}/ nocase
        $hid2 = /value\s*=\s*["']?[a-zA-Z0-9._%+\-]{1,64}@[a-zA-Z0-9.\-]{1,64}\.[a-zA-Z]{2,10}["']?[^>]{0,120}type\s*=\s*["']?hidden/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
        $l1 = /session\s+(has\s+)?(expired|timed\s+out)/ nocase
        $l2 = /(confirm|re-?enter|re-?confirm|verify)\s+(your\s+)?(email\s+)?password\s+(to|in\s+order\s+to)\s+(continue|view|access|download|open)/ nocase
        $l3 = /(pending|held|undelivered|incoming|blocked)\s+(messages|emails|mails)/ nocase
        $l4 = /password\s+(has\s+)?expired/ nocase
        $l5 = /due\s+to\s+(a\s+)?(security|system)\s+(reasons|upgrade|update)/ nocase
    condition:
        1 of ($hid*) and $pw and 1 of ($l*)
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
        description = "'Sign in with Outlook / Office365 / Yahoo / AOL / Other mail' provider picker in front of a password field (document-viewer credential kits)"
        author = "FerretWatch"
        reference = "Multi-brand Excel/PDF viewer phishing kits"
    strings:
        $m1 = /(login|log\s*in|sign\s*in|continue)\s+with\s+aol/ nocase
        $m2 = /(login|log\s*in|sign\s*in|continue)\s+with\s+yahoo/ nocase
        $m3 = /(login|log\s*in|sign\s*in|continue)\s+with\s+(outlook|hotmail)/ nocase
        $m4 = /(login|log\s*in|sign\s*in|continue)\s+with\s+office\s*365/ nocase
        $m5 = /(login|log\s*in|sign\s*in|continue)\s+with\s+other\s+(mail|email|e-mail)/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        3 of ($m*) and $pw
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
        description = "document.write(unescape(...)) / decodeURIComponent of a long percent-encoded blob - the whole page is hidden in an escaped string"
        author = "FerretWatch"
        reference = "Classic HTML-escaping used to hide kit markup from static scanners"
    strings:
        $dw1 = /document\.write\s*\(\s*(window\.)?unescape\s*\(/ nocase
        $dw2 = /document\.write\s*\(\s*decodeURIComponent\s*\(/ nocase
        $pct = /(%[0-9a-fA-F]{2}){120}/
    condition:
        1 of ($dw*) and $pct
}

rule obfuscation_eval_atob_payload : phishing_kit medium
{
    meta:
        description = "eval / document.write / Function / innerHTML fed by atob() together with a long base64 string literal"
        author = "FerretWatch"
        reference = "Base64-wrapped phishing pages and loaders"
    strings:
        $e1 = /eval\s*\(\s*(window\.)?atob\s*\(/
        $e2 = /document\.write\s*\(\s*(window\.)?atob\s*\(/
        $e3 = /Function\s*\(\s*(window\.)?atob\s*\(/
        $e4 = /eval\s*\(\s*decodeURIComponent\s*\(\s*escape\s*\(\s*(window\.)?atob\s*\(/
        $e5 = /\.innerHTML\s*=\s*(window\.)?atob\s*\(/
        $b64 = /["'][A-Za-z0-9+\/]{300}/
    condition:
        1 of ($e*) and $b64
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
/* Lure-themed credential / card harvesting                            */
/* ------------------------------------------------------------------ */

rule fake_document_share_login : credential_harvest high
{
    meta:
        description = "Fake shared-document lure (DocuSign/OneDrive/SharePoint/Adobe/Dropbox 'shared a document with you', 'sign in to view') with an email + password form"
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
        $sh1 = /shared\s+(a|an|the)\s+(secure\s+)?(document|file|folder|pdf|invoice|contract)\s+with\s+you/ nocase
        $sh2 = /(view|open|review|access|download)\s+(the\s+)?(shared\s+)?(document|file|pdf|invoice)/ nocase
        $sh3 = /(secure|protected|encrypted)\s+(document|file|pdf)/ nocase
        $ac1 = /(sign\s*in|log\s*in|verify|confirm|enter)\s+(with\s+)?(your\s+)?(email|e-mail|recipient email|email address)[^<]{0,60}(view|access|open|download)/ nocase
        $ac2 = /(to|in\s+order\s+to)\s+(view|access|open|download)\s+(this|the)\s+(shared\s+)?(document|file|pdf|invoice)/ nocase
        $pw = /type\s*=\s*["']?password/ nocase
    condition:
        1 of ($b*) and 2 of ($sh*) and 1 of ($ac*) and $pw
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
        $l1 = /(package|parcel|shipment|item)\s+(is\s+|has\s+been\s+)?(on\s+hold|held|suspended|could\s+not\s+be\s+delivered|was\s+not\s+delivered|undeliverable)/ nocase
        $l2 = /(customs|redelivery|re-delivery|reshipment|re-shipping)\s+(fee|charge|duty|duties|payment)/ nocase
        $l3 = /(pay|settle)\s+(the\s+|a\s+)?(small\s+)?(re)?delivery\s+(fee|charge)/ nocase
        $l4 = /(incomplete|invalid|incorrect)\s+(delivery\s+|street\s+)?address/ nocase
        $l5 = /(reschedule|schedule)\s+(your\s+)?(re)?delivery/ nocase
        $amt = /(\$|\xC2\xA3|\xE2\x82\xAC|&pound;|&euro;|usd|eur|gbp)\s?[0-4][.,][0-9]{2}/ nocase
        $amt2 = /[0-4][.,][0-9]{2}\s?(\xE2\x82\xAC|&euro;|eur|usd|gbp)/ nocase
        $cn = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(card_?number|card_?no|card number|cardnumber|cc-number|ccnum|cc_num|card-number|pan)["'\s>]/ nocase
        $cv = /(name|id|placeholder|autocomplete|aria-label)\s*=\s*["']?[^"'>]{0,20}(cvv|cvc|cc-csc|csc|security ?code)/ nocase
        $ex = /expir(y|ation)|exp\.?\s*date|mm\s*\/\s*yy|cc-exp/ nocase
    condition:
        1 of ($cr*) and 1 of ($l*) and 1 of ($amt*) and $cn and $cv and $ex
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
        description = "Wallet drainer: connects the wallet (eth_requestAccounts) then requests setApprovalForAll / unlimited approve or a Permit typed-data signature, behind an airdrop/claim/mint lure or a max-uint allowance"
        author = "FerretWatch"
        reference = "NFT/ERC-20 drainer kits abusing approvals and Permit signatures"
    strings:
        $req1 = "eth_requestAccounts"
        $req2 = "wallet_requestPermissions"
        $ap1 = "setApprovalForAll"
        $ap2 = /\.approve\s*\([^)]{0,120}(115792089237316195423570985008687907853269984665640564039457584007913129639935|0x[fF]{64}|MaxUint256)/
        $sig = /eth_signTypedData(_v[34])?|signTypedData/
        $permit = /primaryType["']?\s*:\s*["'](Permit|PermitSingle|PermitBatch|PermitTransferFrom|PermitBatchTransferFrom)["']/
        $lure1 = /claim\s+(your\s+)?(free\s+)?(airdrop|reward|rewards|tokens?|nft|allocation)/ nocase
        $lure2 = "airdrop" nocase
        $lure3 = /(free|exclusive|whitelist)\s+mint/ nocase
        $lure4 = /you\s+are\s+eligible/ nocase
        $maxu = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        $maxh = /0x[fF]{64}/
    condition:
        1 of ($req*) and (1 of ($ap*) or ($sig and $permit)) and (1 of ($lure*) or $maxu or $maxh)
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
        description = "Fake Microsoft/Windows Defender 'your computer has been blocked' alert with a toll-free support number"
        author = "FerretWatch"
        reference = "Tech-support scam landing pages"
    strings:
        $b1 = "Windows Defender" nocase
        $b2 = "Microsoft Defender" nocase
        $b3 = "Windows Security" nocase
        $b4 = "Microsoft Support" nocase
        $b5 = "Windows Firewall" nocase
        $b6 = "Microsoft Windows" nocase
        $b7 = "Apple Support" nocase
        $s1 = /your\s+(computer|pc|system|device|mac)\s+(has\s+been|is|was)\s+(blocked|locked|infected|compromised)/ nocase
        $s2 = /do\s+not\s+(restart|shut\s*down|turn\s+off|close\s+this\s+(page|window))/ nocase
        $s3 = /(call|contact)\s+(microsoft|windows|apple)(\s+technical)?\s+support/ nocase
        $s4 = /(trojan|spyware|virus|pornographic|zeus)[^<]{0,40}(detected|infection|alert|warning)/ nocase
        $s5 = /error\s*(#|code:?)\s*0x[0-9a-fA-F]{4,8}/ nocase
        $s6 = /access\s+to\s+this\s+(pc|computer)\s+has\s+been\s+blocked/ nocase
        $tf = /(call|support|helpline|help\s+line|toll[\s\-]?free|hotline|technician)[^<]{0,30}\(?8(00|33|44|55|66|77|88)\)?[ .\-][0-9]{3}[ .\-][0-9]{4}/ nocase
        $guide = /(tech(nical)?\s+support\s+scams?|scammers|is\s+a\s+scam)/ nocase
        $x1 = /requestFull[sS]creen\s*\(/
        $x2 = /<audio[^>]{0,200}(autoplay|loop)/ nocase
        $x3 = "onbeforeunload"
        $x4 = /setInterval\s*\([^)]{0,60}alert/
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

/* ------------------------------------------------------------------ */
/* Prize / gift-card scams                                             */
/* ------------------------------------------------------------------ */

rule prize_survey_lure : gift_card_scam medium
{
    meta:
        description = "'Congratulations, you have been selected' prize page with a claim call-to-action plus survey, countdown or limited-stock pressure"
        author = "FerretWatch"
        reference = "Fake survey / spin-the-wheel reward scams"
    strings:
        $c = "congratulations" nocase
        $sel1 = /you('ve|\s+have)\s+been\s+(randomly\s+)?(selected|chosen)/ nocase
        $sel2 = /lucky\s+(visitor|winner|user|customer)/ nocase
        $sel3 = /you('ve|\s+have)?\s+won\s+(a|an|the)\s/ nocase
        $cl1 = /claim\s+(your|my|now|the)\s?(free\s+)?(reward|prize|gift)?/ nocase
        $cl2 = /(collect|get)\s+your\s+(free\s+)?(reward|prize|gift)/ nocase
        $st1 = /question\s+[1-9]\s+(of|\/)\s+[1-9]/ nocase
        $st2 = /only\s+[0-9]{1,3}\s+(left|remaining|rewards?|prizes?|gifts?)/ nocase
        $st3 = /(offer|this\s+page|reward|prize|session)\s+(expires|will\s+expire)\s+in/ nocase
        $st4 = /(answer|complete)\s+(the|a|this|our)\s+(following\s+)?(short\s+)?(survey|questions?|questionnaire)/ nocase
        $st5 = /spin\s+the\s+wheel/ nocase
    condition:
        $c and 1 of ($sel*) and 1 of ($cl*) and 1 of ($st*)
}

rule gift_card_prize_shipping_fee_card : gift_card_scam high
{
    meta:
        description = "Gift-card 'prize' that asks for a small shipping/processing fee by card (card number + CVV) - subscription-trap / card-harvest"
        author = "FerretWatch"
        reference = "Gift-card giveaway card-harvest pages"
    strings:
        $gc1 = /(amazon|walmart|target|apple|google\s+play|steam|costco|visa|cvs|home\s+depot|kroger|starbucks|sephora)\s+gift\s*card/ nocase
        $gc2 = /\$\s?(100|250|500|750|1,?000)\s+(gift\s*card|voucher)/ nocase
        $won1 = /you('ve|\s+have)?\s+(won|been\s+selected|been\s+chosen)/ nocase
        $won2 = /(lucky|today's)\s+(winner|visitor)/ nocase
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
