//! Where the page may download a model from, decided before any request is made. The page's
//! Content-Security-Policy (`connect-src`) allows its own origin plus [`MODEL_HOSTS`]; this
//! module applies the same list, so a refused URL gets a clear message instead of a blocked
//! request. `tests/csp.rs` checks that index.html, tests/e2e/server.mjs and the README carry
//! exactly this list, so the policy and the page cannot drift apart.

/// The model-hosting origins the page may download from, in CSP host-source syntax (the
/// order is the order in the policy). Hugging Face's `resolve` links answer from
/// huggingface.co (or its short name hf.co) with a redirect to a download server, today
/// cdn-lfs.huggingface.co, cdn-lfs(-us-1).hf.co or cas-bridge.xethub.hf.co; the policy is
/// checked again at every redirect, hence the wildcards. In CSP `*.hf.co` matches any host
/// ending in `.hf.co`, at any depth, but not `hf.co` itself, which is why both are listed.
/// GitHub release assets are not listed: their download servers send no CORS header, so a
/// page cannot read them even when the policy allows it.
pub const MODEL_HOSTS: &[&str] =
    &["https://huggingface.co", "https://*.huggingface.co", "https://hf.co", "https://*.hf.co"];

/// The policy's `connect-src` directive: the page's own origin and the model hosts.
pub fn connect_src() -> String {
    format!("connect-src 'self' {}", MODEL_HOSTS.join(" "))
}

/// The hosts of [`MODEL_HOSTS`] for a message: "huggingface.co, *.huggingface.co, …".
pub fn hosts_sentence() -> String {
    MODEL_HOSTS.iter().map(|h| h.trim_start_matches("https://")).collect::<Vec<_>>().join(", ")
}

/// A model URL the page may download.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSource {
    /// The URL to download, and the key the model is kept under in browser storage.
    pub url: String,
    /// Whether it is on the page's own origin (its server may send a 404 hint).
    pub same_origin: bool,
    /// What was changed in the URL the user gave, to tell them.
    pub note: Option<String>,
}

/// The parts of an absolute URL the decision needs. `href` comes normalized from the
/// browser's URL parser (lowercase scheme and host, default port dropped).
struct Parts<'a> {
    scheme: &'a str,
    userinfo: bool,
    host: &'a str,
    port: Option<&'a str>,
    /// Everything from the path on (path, query, fragment).
    rest: &'a str,
}

fn parts(href: &str) -> Option<Parts<'_>> {
    let (scheme, after) = href.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((_, hp)) => (true, hp),
        None => (false, authority),
    };
    // The port follows the last ':' that is not inside an IPv6 address's brackets.
    let (host, port) = match hostport.rfind(':') {
        Some(i) if !hostport[i..].contains(']') => (&hostport[..i], Some(&hostport[i + 1..])),
        _ => (hostport, None),
    };
    Some(Parts { scheme, userinfo, host, port, rest })
}

/// CSP host-source matching for a pattern of [`MODEL_HOSTS`]: same scheme, the scheme's
/// default port, and the host equal to the pattern's or, for `*.suffix`, ending in `.suffix`.
fn host_matches(pattern: &str, p: &Parts) -> bool {
    let Some((scheme, host)) = pattern.split_once("://") else { return false };
    if scheme != p.scheme || p.port.is_some() {
        return false;
    }
    match host.strip_prefix("*.") {
        Some(suffix) => p.host.strip_suffix(suffix).is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        None => p.host == host,
    }
}

/// A Hugging Face "blob" page link (`/<user>/<repo>/blob/<rev>/<file>`, also under
/// `/datasets/` and `/spaces/`) shows the file in a web page; its `resolve` link is the file.
fn hf_resolve(p: &Parts) -> Option<String> {
    if !matches!(p.host, "huggingface.co" | "hf.co") {
        return None;
    }
    let path_end = p.rest.find(['?', '#']).unwrap_or(p.rest.len());
    let segs: Vec<&str> = p.rest[..path_end].split('/').collect();
    // segs[0] is the empty string before the leading '/'.
    let at = if matches!(segs.get(1), Some(&"datasets") | Some(&"spaces")) { 4 } else { 3 };
    if segs.get(at) != Some(&"blob") || segs.len() < at + 3 {
        return None;
    }
    let mut out = segs.clone();
    out[at] = "resolve";
    Some(format!("{}://{}{}{}", p.scheme, p.host, out.join("/"), &p.rest[path_end..]))
}

/// Why the page will not download a model from an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("\"{href}\" is not a web address (http:// or https://)")]
    NotAnAddress { href: String },
    #[error("\"{href}\" is not a web address: the page downloads models over https only.")]
    NotHttp { href: String },
    /// Another server than the page's own that the page may not reach; `why` says which rule.
    #[error(
        "{href}: {why} This page downloads models only from its own server and from {}: its \
         Content-Security-Policy allows no other host, which keeps your data from being sent anywhere. \
         Download the model file yourself and drop it on \"Drop model files here\".",
        hosts_sentence()
    )]
    Refused { href: String, why: &'static str },
}

/// Decides whether the page may download the model at `href` (absolute, as the browser
/// resolved it) from a page at `page_origin`: its own origin, over http or https; else https
/// on a host of [`MODEL_HOSTS`]. A Hugging Face page link is turned into its download link.
pub fn check(href: &str, page_origin: &str) -> Result<ModelSource, SourceError> {
    let p = parts(href).ok_or_else(|| SourceError::NotAnAddress { href: href.into() })?;
    if !matches!(p.scheme, "http" | "https") {
        return Err(SourceError::NotHttp { href: href.into() });
    }
    let origin = match p.port {
        Some(port) => format!("{}://{}:{port}", p.scheme, p.host),
        None => format!("{}://{}", p.scheme, p.host),
    };
    if origin == page_origin && !p.userinfo {
        return Ok(ModelSource { url: href.to_string(), same_origin: true, note: None });
    }
    let refuse = |why: &'static str| Err(SourceError::Refused { href: href.into(), why });
    if p.userinfo {
        return refuse("a web address with a user name or password is not used.");
    }
    if p.scheme != "https" {
        return refuse("other servers are reached over https only.");
    }
    if !MODEL_HOSTS.iter().any(|pat| host_matches(pat, &p)) {
        return refuse("this host is not one the page may download from.");
    }
    if let Some(url) = hf_resolve(&p) {
        let note = format!(
            "That is the Hugging Face page that shows the file; downloading the file itself from its \
             \"resolve\" link: {url}"
        );
        return Ok(ModelSource { url, same_origin: false, note: Some(note) });
    }
    Ok(ModelSource { url: href.to_string(), same_origin: false, note: None })
}

/// The file name at the end of a URL's path, for the page to show.
pub fn file_name(url: &str) -> String {
    let path = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
    if name.is_empty() {
        url.to_string()
    } else {
        name.to_string()
    }
}

/// How a kept model is listed: its file name, with the host when it is not this page's, so a
/// copy from Hugging Face and one from this server with the same name can be told apart.
pub fn display_name(url: &str, page_origin: &str) -> String {
    let name = file_name(url);
    match parts(url) {
        Some(p) if !url.starts_with(&format!("{page_origin}/")) => format!("{name} ({})", p.host),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:8080";

    #[test]
    fn own_origin_over_http_is_allowed() {
        let s = check("http://127.0.0.1:8080/models/m.gguf", PAGE).unwrap();
        assert!(s.same_origin);
        assert_eq!(s.url, "http://127.0.0.1:8080/models/m.gguf");
        // Another port, or localhost for 127.0.0.1, is another origin.
        assert!(check("http://127.0.0.1:9000/m.gguf", PAGE).is_err());
        assert!(check("http://localhost:8080/m.gguf", PAGE).is_err());
    }

    #[test]
    fn hugging_face_and_its_download_servers_are_allowed_over_https_only() {
        for url in [
            "https://huggingface.co/u/r/resolve/main/m.gguf",
            "https://hf.co/u/r/resolve/main/m.gguf",
            "https://cdn-lfs.huggingface.co/repos/ab/cd/x",
            "https://cdn-lfs-us-1.hf.co/repos/ab/cd/x",
            "https://cas-bridge.xethub.hf.co/xet-bridge-us/x?X-Amz-Signature=1",
        ] {
            let s = check(url, PAGE).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((s.url.as_str(), s.same_origin, s.note), (url, false, None));
        }
        let e = check("http://huggingface.co/u/r/resolve/main/m.gguf", PAGE).unwrap_err().to_string();
        assert!(e.contains("over https only"), "{e}");
        assert!(check("https://huggingface.co:8443/m.gguf", PAGE).is_err());
    }

    #[test]
    fn look_alike_hosts_are_refused_with_the_allowed_hosts_named() {
        for url in [
            "https://example.com/m.gguf",
            "https://evilhuggingface.co/m.gguf",
            "https://huggingface.co.evil.com/m.gguf",
            "https://xhf.co/m.gguf",
            "https://user:pw@huggingface.co/m.gguf",
            "https://github.com/o/r/releases/download/v1/m.gguf",
        ] {
            let e = check(url, PAGE).unwrap_err().to_string();
            assert!(e.contains("huggingface.co, *.huggingface.co, hf.co, *.hf.co"), "{e}");
            assert!(e.contains("drop it on \"Drop model files here\""), "{e}");
        }
        assert!(check("ftp://huggingface.co/m.gguf", PAGE).unwrap_err().to_string().contains("https only"));
        assert!(check("data:,GGUF", PAGE).is_err());
    }

    #[test]
    fn blob_page_links_become_resolve_links() {
        let s = check(
            "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/blob/main/m.Q4_1.gguf?x=1#top",
            PAGE,
        )
        .unwrap();
        assert_eq!(
            s.url,
            "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/resolve/main/m.Q4_1.gguf?x=1#top"
        );
        assert!(s.note.unwrap().contains("resolve"));
        let s = check("https://huggingface.co/datasets/u/r/blob/v1/dir/m.gguf", PAGE).unwrap();
        assert_eq!(s.url, "https://huggingface.co/datasets/u/r/resolve/v1/dir/m.gguf");
        // A user or repository named "blob" is not the page marker; a resolve link is kept.
        let s = check("https://huggingface.co/blob/r/resolve/main/m.gguf", PAGE).unwrap();
        assert_eq!((s.url.as_str(), s.note), ("https://huggingface.co/blob/r/resolve/main/m.gguf", None));
        // Only on Hugging Face itself, not on its download servers.
        assert_eq!(check("https://cdn-lfs.hf.co/u/r/blob/main/m.gguf", PAGE).unwrap().note, None);
    }

    #[test]
    fn the_policy_directive_lists_self_and_the_hosts() {
        assert_eq!(
            connect_src(),
            "connect-src 'self' https://huggingface.co https://*.huggingface.co https://hf.co https://*.hf.co"
        );
        for pat in MODEL_HOSTS {
            assert!(pat.starts_with("https://") && !pat.ends_with('/'), "{pat}: a bare https origin");
        }
    }

    #[test]
    fn file_names_drop_the_query() {
        assert_eq!(file_name("https://huggingface.co/u/r/resolve/main/m.gguf?download=true"), "m.gguf");
        assert_eq!(file_name("http://127.0.0.1/models/a.gguf"), "a.gguf");
        assert_eq!(display_name("http://127.0.0.1:8080/models/a.gguf", PAGE), "a.gguf");
        assert_eq!(display_name("https://huggingface.co/u/r/resolve/main/a.gguf", PAGE), "a.gguf (huggingface.co)");
    }
}
