//! The page's Content-Security-Policy is written in three places besides the Rust list of
//! model hosts (`model_source::MODEL_HOSTS`), which the page applies before any request:
//! index.html's `<meta>`, the header tests/e2e/server.mjs sends, and the README's deploy
//! notes. They must agree, or the page would offer a download its policy blocks (or allow a
//! host the page never uses).

use std::path::PathBuf;

use labelcast_web::model_source::connect_src;

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The directives of a policy, whitespace-normalized.
fn directives(policy: &str) -> Vec<String> {
    policy.split(';').map(|d| d.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|d| !d.is_empty()).collect()
}

/// The `content` of index.html's Content-Security-Policy `<meta>` tag.
fn meta_policy() -> String {
    let html = read("index.html");
    let tag = html
        .split("<meta")
        .find(|t| t.contains(r#"http-equiv="Content-Security-Policy""#))
        .expect("index.html has a Content-Security-Policy <meta> tag");
    let content = tag.split(r#"content=""#).nth(1).expect("the tag has a content attribute");
    content[..content.find('"').unwrap()].to_string()
}

/// server.mjs's `export const CSP = "…" + "…";`: its string literals, joined.
fn server_policy() -> String {
    let js = read("tests/e2e/server.mjs");
    let start = js.find("export const CSP =").expect("server.mjs exports CSP");
    let stmt = &js[start..];
    let stmt = &stmt[..stmt.find(";\n").expect("the CSP statement ends")];
    stmt.split('"').skip(1).step_by(2).collect()
}

#[test]
fn the_meta_tag_and_the_server_header_are_the_same_policy() {
    assert_eq!(directives(&meta_policy()), directives(&server_policy()));
}

#[test]
fn connect_src_is_self_plus_the_model_hosts() {
    for (name, policy) in [("index.html", meta_policy()), ("tests/e2e/server.mjs", server_policy())] {
        let d = directives(&policy);
        let connect: Vec<_> = d.iter().filter(|d| d.starts_with("connect-src ")).collect();
        assert_eq!(connect, [&connect_src()], "{name}: connect-src must be the page's model hosts");
        // The rest stays this origin only: nothing else may name a host.
        for other in d.iter().filter(|d| !d.starts_with("connect-src ")) {
            assert!(!other.contains("://") && !other.contains('*'), "{name}: {other} names a host");
        }
    }
}

#[test]
fn the_readme_shows_the_same_directive() {
    let readme = read("README.md");
    assert!(readme.contains(&connect_src()), "README.md must show `{}`", connect_src());
}
