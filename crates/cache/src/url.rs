//! Remote cache URLs as strata shows them: never with their credentials.
//!
//! A remote URL may carry secrets: user information (`https://user:password@host/`, or a
//! token as the user), and query parameters (`?token=`, a pre-signed `X-Amz-Signature=`,
//! `sig=`, an `api_key=`). Every message, report and file strata writes shows a URL through
//! [`redact_url`]; messages from the HTTP client, which may quote the URL in its own words,
//! go through [`Redactor::scrub`].

/// Query parameter names (lowercase substrings) whose values are treated as secrets.
const SECRET_PARAMETERS: [&str; 9] = [
    "token", "sig", // sig, signature, x-amz-signature
    "secret", "pass", // password, passwd, passphrase
    "pwd", "key", // key, api_key, apikey, x-goog-...-key
    "auth", "cred", // credential, x-amz-credential
    "session",
];

/// What replaces a secret.
const HIDDEN: &str = "***";

/// `url` as strata shows it: the user information, the values of query parameters whose
/// names look secret (see [`SECRET_PARAMETERS`]), parameters without a name and any
/// fragment are replaced by `***`; scheme, host, port, path and other parameters are kept,
/// so the remote stays recognisable.
///
/// ```
/// assert_eq!(
///     strata_cache::redact_url("https://ci:hunter2@cache.example/v1?token=abc&region=eu"),
///     "https://***@cache.example/v1?token=***&region=eu"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let parts = Parts::of(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    if parts.userinfo.is_some() {
        out.push_str(HIDDEN);
        out.push('@');
    }
    out.push_str(parts.rest);
    if let Some(query) = parts.query {
        out.push('?');
        let shown: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _)) if is_secret_name(name) => format!("{name}={HIDDEN}"),
                Some(_) => param.to_string(),
                None if param.is_empty() => String::new(),
                None => HIDDEN.to_string(),
            })
            .collect();
        out.push_str(&shown.join("&"));
    }
    if parts.fragment.is_some_and(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(HIDDEN);
    }
    out
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETERS.iter().any(|s| name.contains(s))
}

/// A URL cut at its delimiters (no validation: a malformed URL is cut the same way, so its
/// secrets are hidden too).
struct Parts<'a> {
    /// `https://`, or empty.
    scheme: &'a str,
    /// Everything before the last `@` ahead of the query: also a password holding `/`.
    userinfo: Option<&'a str>,
    /// Host, port and path.
    rest: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn of(url: &'a str) -> Parts<'a> {
        let (url, fragment) = match url.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (url, None),
        };
        let (url, query) = match url.split_once('?') {
            Some((u, q)) => (u, Some(q)),
            None => (url, None),
        };
        let scheme_end = url
            .find("://")
            .filter(|&i| !url[..i].contains(['/', '@']))
            .map_or(0, |i| i + 3);
        let (scheme, after) = url.split_at(scheme_end);
        let (userinfo, rest) = match after.rfind('@') {
            Some(at) => (Some(&after[..at]), &after[at + 1..]),
            None => (None, after),
        };
        Parts {
            scheme,
            userinfo,
            rest,
            query,
            fragment,
        }
    }
}

/// The user information of `url`, percent-decoded as a URL's must be (a password holding
/// `@`, `:` or `/` can only be written encoded), as the bytes of `user:password` that Basic
/// authentication sends; and the URL without it, for the requests.
pub(crate) fn split_credentials(url: &str) -> (Option<Vec<u8>>, String) {
    let parts = Parts::of(url);
    let Some(userinfo) = parts.userinfo else {
        return (None, url.to_string());
    };
    let mut without = String::with_capacity(url.len());
    without.push_str(parts.scheme);
    without.push_str(parts.rest);
    if let Some(query) = parts.query {
        without.push('?');
        without.push_str(query);
    }
    if let Some(fragment) = parts.fragment {
        without.push('#');
        without.push_str(fragment);
    }
    // The user and the password are decoded apart: an encoded `:` belongs to its part.
    let decoded = match userinfo.split_once(':') {
        Some((user, password)) => {
            let mut both = percent_decoded(user);
            both.push(b':');
            both.extend(percent_decoded(password));
            both
        }
        None => {
            let mut user = percent_decoded(userinfo);
            user.push(b':');
            user
        }
    };
    (Some(decoded), without)
}

/// `text` with each `%XX` replaced by its byte (a `%` not followed by two hex digits is
/// kept as written).
fn percent_decoded(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Hides one URL's secrets wherever they appear in a message (an HTTP client error may
/// quote the URL, or a part of it, in its own words).
#[derive(Debug, Clone)]
pub struct Redactor {
    /// (raw text, what to show instead), longest first.
    replacements: Vec<(String, String)>,
}

impl Redactor {
    pub fn new(url: &str) -> Redactor {
        let parts = Parts::of(url);
        let mut replacements = vec![(url.to_string(), redact_url(url))];
        let mut secret = |s: &str| {
            // Very short values are left alone: hiding every `a` would garble the message,
            // and the URL they belong to is replaced whole above.
            if s.len() >= 4 {
                replacements.push((s.to_string(), HIDDEN.to_string()));
            }
        };
        if let Some(userinfo) = parts.userinfo {
            secret(userinfo);
            if let Some((_, password)) = userinfo.split_once(':') {
                secret(password);
                // As sent, too.
                secret(&String::from_utf8_lossy(&percent_decoded(password)));
            }
        }
        for param in parts.query.into_iter().flat_map(|q| q.split('&')) {
            match param.split_once('=') {
                Some((name, value)) if is_secret_name(name) => secret(value),
                Some(_) => {}
                None => secret(param),
            }
        }
        if let Some(fragment) = parts.fragment {
            secret(fragment);
        }
        replacements.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        Redactor { replacements }
    }

    /// `text` with every secret of the URL replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (raw, shown) in &self.replacements {
            if !raw.is_empty() && out.contains(raw.as_str()) {
                out = out.replace(raw.as_str(), shown);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_hidden() {
        for (url, shown) in [
            ("http://user:pw@host/cache", "http://***@host/cache"),
            ("https://TOKEN@host:8443/c", "https://***@host:8443/c"),
            ("http://host/cache", "http://host/cache"),
            (
                "http://127.0.0.1:9092/cache/",
                "http://127.0.0.1:9092/cache/",
            ),
            // A password with unencoded delimiters is still hidden whole.
            ("http://u:p@ss/w@rd@host/cache", "http://***@host/cache"),
            ("user:pw@host/cache", "***@host/cache"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn secret_query_values_are_hidden_and_others_kept() {
        assert_eq!(
            redact_url(
                "https://h/c?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F1&X-Amz-Signature=ab12&region=eu"
            ),
            "https://h/c?X-Amz-Algorithm=AWS4&X-Amz-Credential=***&X-Amz-Signature=***&region=eu"
        );
        assert_eq!(
            redact_url("http://h/c?sig=1&token=2&access_token=3&api_key=4&password=5&Secret=6"),
            "http://h/c?sig=***&token=***&access_token=***&api_key=***&password=***&Secret=***"
        );
        // A bare value may be a token; a fragment is never needed to recognise a remote.
        assert_eq!(redact_url("http://h/c?abcdef"), "http://h/c?***");
        assert_eq!(redact_url("http://h/c#frag"), "http://h/c#***");
        assert_eq!(redact_url("http://h/c?"), "http://h/c?");
    }

    #[test]
    fn messages_quoting_the_url_or_its_parts_are_scrubbed() {
        let url = "http://ci:hunter2@h:1/c?token=t0k3n&v=1";
        let r = Redactor::new(url);
        assert_eq!(
            r.scrub(&format!("bad uri: {url}")),
            "bad uri: http://***@h:1/c?token=***&v=1"
        );
        assert_eq!(
            r.scrub("GET http://ci:hunter2@h:1/c/ac/00?token=t0k3n&v=1: refused"),
            "GET http://***@h:1/c/ac/00?token=***&v=1: refused"
        );
        assert_eq!(r.scrub("auth hunter2 failed"), "auth *** failed");
    }
}
