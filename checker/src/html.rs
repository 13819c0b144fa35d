//! Escaping text for HTML and SVG, for the Explorer's pages and the matrix's HTML table.
//!
//! One function, so every page escapes the same five characters: text content and attribute
//! values (single- or double-quoted) are both safe. It does not sanitise markup; callers only ever
//! put our own text through it.

/// `s` with `&`, `<`, `>`, `"` and `'` replaced by their character references.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_five_characters_are_escaped_and_nothing_else() {
        assert_eq!(
            super::escape(r#"a<b>&"c'→"#),
            "a&lt;b&gt;&amp;&quot;c&#39;→"
        );
    }
}
