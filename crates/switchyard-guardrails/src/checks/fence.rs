//! Markdown code fences, found by hand (a capturing regex over a 2 KB text costs several
//! microseconds; these scans cost a few hundred nanoseconds) with the semantics of the
//! regexes Portkey uses.

/// Contents of fenced blocks as Portkey's JSON checks read them
/// (```` ```+(?:json)?\s*([\s\S]*?)```+ ````): any run of three or more backticks, an
/// optional `json` tag, whitespace, then everything up to the next three backticks.
pub(crate) fn json_blocks(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = find(text, from, "```") {
        let mut j = skip_backticks(b, open);
        if text.get(j..).is_some_and(|t| t.starts_with("json")) {
            j += 4;
        }
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let Some(close) = find(text, j, "```") else {
            break;
        };
        if let Some(content) = text.get(j..close) {
            out.push(content);
        }
        from = skip_backticks(b, close);
    }
    out
}

/// A fenced code block as `default.containsCode` reads it
/// (```` ```(\w+)\n[\s\S]*?\n``` ````): its tag, when it has one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CodeBlock<'a> {
    pub tag: Option<&'a str>,
}

/// Code blocks: three backticks, a tag of word characters (optional when `tag_optional`),
/// a newline, anything, then a newline and three backticks (just three backticks when the
/// tag is optional, so a block with no newline before its closing fence also counts).
pub(crate) fn code_blocks(text: &str, tag_optional: bool) -> Vec<CodeBlock<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = find(text, from, "```") {
        let tag_start = open + 3;
        let tag_end = text
            .get(tag_start..)
            .and_then(|t| t.find(|c: char| !(c.is_alphanumeric() || c == '_')))
            .map_or(b.len(), |i| tag_start + i);
        let has_tag = tag_end > tag_start;
        if (!has_tag && !tag_optional) || b.get(tag_end) != Some(&b'\n') {
            from = open + 1;
            continue;
        }
        let body = tag_end + 1;
        let close = if tag_optional {
            find(text, body, "```")
        } else {
            find(text, body, "\n```").map(|i| i + 1)
        };
        let Some(close) = close else {
            from = open + 1;
            continue;
        };
        out.push(CodeBlock {
            tag: has_tag.then(|| text.get(tag_start..tag_end)).flatten(),
        });
        from = close + 3;
    }
    out
}

fn find(text: &str, from: usize, needle: &str) -> Option<usize> {
    text.get(from..)?.find(needle).map(|i| from + i)
}

fn skip_backticks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] == b'`' {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_blocks_like_portkeys_regex() {
        assert_eq!(
            json_blocks("a ```json\n{\"a\":1}\n``` b ````\n[1]\n```` c"),
            ["{\"a\":1}\n", "[1]\n"]
        );
        assert_eq!(json_blocks("```{\"x\":2}```"), ["{\"x\":2}"]);
        assert!(json_blocks("``` never closed").is_empty());
    }

    #[test]
    fn code_blocks_like_portkeys_regex() {
        let t = "x\n```py\nprint(1)\n```\n```sql\nSELECT 1\n```\n```\nplain\n```";
        let tags: Vec<_> = code_blocks(t, false).into_iter().map(|b| b.tag).collect();
        assert_eq!(tags, [Some("py"), Some("sql")]);
        let tags: Vec<_> = code_blocks(t, true).into_iter().map(|b| b.tag).collect();
        assert_eq!(tags, [Some("py"), Some("sql"), None]);
        assert!(code_blocks("```py print(1)```", false).is_empty());
        assert!(code_blocks("```py\nno close", false).is_empty());
    }
}
