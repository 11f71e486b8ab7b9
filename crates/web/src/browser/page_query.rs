//! Settings read from the page's address (`?workers=2&batch=16`), for measuring the page
//! against itself: the defaults are what every visitor gets.

/// The number after `name=` in the page's query string, if it parses.
pub fn number(name: &str) -> Option<usize> {
    let query = web_sys::window()?.location().search().ok()?;
    parse(&query, name)
}

fn parse(query: &str, name: &str) -> Option<usize> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_found_by_their_whole_name() {
        assert_eq!(super::parse("?workers=2&batch=16", "batch"), Some(16));
        assert_eq!(super::parse("?workers=2&batch=16", "workers"), Some(2));
        assert_eq!(super::parse("?myworkers=3", "workers"), None);
        assert_eq!(super::parse("?workers=two", "workers"), None);
        assert_eq!(super::parse("", "workers"), None);
    }
}
