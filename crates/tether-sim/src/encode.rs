//! Byte-level encodings shared by every vendor: RFC 3986 percent-encoding
//! (the one rule all three signature schemes use), form/query decoding, XML
//! escaping and JSON string escaping for hand-built bodies.
//!
//! Invariant: decoding never fails; malformed escapes are kept literally, so a
//! bad request reaches the vendor's own error answer instead of a panic.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The RFC 3986 unreserved set `A-Z a-z 0-9 - _ . ~` is all that stays as
/// it is; every other byte is `%XY` in upper-case hex.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes every byte except the RFC 3986 unreserved set
/// `A-Z a-z 0-9 - _ . ~`, with upper-case hex (space is `%20`, `*` is `%2A`).
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    pct_into(&mut out, s);
    out
}

/// [`pct`] appending to `out`.
pub fn pct_into(out: &mut String, s: &str) {
    out.extend(utf8_percent_encode(s, UNRESERVED));
}

/// Decodes `%XY` escapes (and `+` as space when `plus` is set).
pub fn decode(s: &str, plus: bool) -> String {
    if plus && s.contains('+') {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    } else {
        percent_decode_str(s).decode_utf8_lossy().into_owned()
    }
}

/// Splits `a=1&b=2` into decoded pairs (`+` is a space, as in forms).
pub fn parse_pairs(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

/// Escapes text for XML element content.
pub fn xml_into(out: &mut String, s: &str) {
    // Fast path: most values need no escaping.
    if !s
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// `<name>escaped text</name>`.
pub fn xml_elem(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    xml_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_vendors() {
        assert_eq!(pct("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
        assert_eq!(decode("a%20b+c%2", true), "a b c%2");
        assert_eq!(decode("%zz%41", false), "%zzA");
        assert_eq!(
            parse_pairs("A=1&B=&C&D=x%3Dy"),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "".into()),
                ("C".into(), "".into()),
                ("D".into(), "x=y".into())
            ]
        );
    }
}

/// Whether a JSON string needs escaping (`"`, `\\`, control characters),
/// eight bytes at a time.
fn json_needs_escape(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        let ctrl = x.wrapping_sub(LO * 0x20) & !x & HI;
        if ctrl | zero(x ^ (LO * b'"' as u64)) | zero(x ^ (LO * b'\\' as u64)) != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// A small streaming JSON writer for the list answers (no intermediate tree:
/// a page of a thousand items is one `String`).
#[derive(Debug, Default)]
pub struct Json {
    pub out: String,
    comma: bool,
}

impl Json {
    pub fn with_capacity(n: usize) -> Json {
        Json {
            out: String::with_capacity(n),
            comma: false,
        }
    }

    fn sep(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }

    fn quoted(&mut self, s: &str) {
        self.out.push('"');
        if !json_needs_escape(s.as_bytes()) {
            self.out.push_str(s);
        } else {
            for c in s.chars() {
                match c {
                    '"' => self.out.push_str("\\\""),
                    '\\' => self.out.push_str("\\\\"),
                    '\n' => self.out.push_str("\\n"),
                    '\r' => self.out.push_str("\\r"),
                    '\t' => self.out.push_str("\\t"),
                    c if (c as u32) < 0x20 => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => self.out.push(c),
                }
            }
        }
        self.out.push('"');
    }

    pub fn begin_obj(&mut self) -> &mut Self {
        self.sep();
        self.out.push('{');
        self.comma = false;
        self
    }

    pub fn end_obj(&mut self) -> &mut Self {
        self.out.push('}');
        self.comma = true;
        self
    }

    pub fn begin_arr(&mut self) -> &mut Self {
        self.sep();
        self.out.push('[');
        self.comma = false;
        self
    }

    pub fn end_arr(&mut self) -> &mut Self {
        self.out.push(']');
        self.comma = true;
        self
    }

    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        self.quoted(k);
        self.out.push(':');
        self.comma = false;
        self
    }

    pub fn str(&mut self, v: &str) -> &mut Self {
        self.sep();
        self.quoted(v);
        self.comma = true;
        self
    }

    pub fn raw(&mut self, v: &str) -> &mut Self {
        self.sep();
        self.out.push_str(v);
        self.comma = true;
        self
    }

    pub fn num(&mut self, v: i64) -> &mut Self {
        use std::fmt::Write as _;
        self.sep();
        let _ = write!(self.out, "{v}");
        self.comma = true;
        self
    }

    pub fn kv(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).str(v)
    }

    pub fn kn(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k).num(v)
    }

    pub fn kraw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).raw(v)
    }

    /// `"k": {`
    pub fn kobj(&mut self, k: &str) -> &mut Self {
        self.key(k).begin_obj()
    }

    /// `"k": [`
    pub fn karr(&mut self, k: &str) -> &mut Self {
        self.key(k).begin_arr()
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod json_tests {
    use super::Json;

    #[test]
    fn writes_valid_json() {
        let mut j = Json::default();
        j.begin_obj()
            .kv("a", "x\"y")
            .kn("n", 3)
            .karr("l")
            .str("p")
            .begin_obj()
            .kraw("b", "true")
            .end_obj()
            .end_arr();
        j.kobj("o").end_obj().end_obj();
        let s = j.finish();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], "x\"y");
        assert_eq!(v["l"][1]["b"], true);
        assert_eq!(s, r#"{"a":"x\"y","n":3,"l":["p",{"b":true}],"o":{}}"#);
        for t in [
            "plain ascii text, long enough",
            "tab\there",
            "quote\" in the middle of it",
            "back\\slash here",
            "é unicode ünïcode",
        ] {
            let mut j = Json::default();
            j.str(t);
            assert_eq!(serde_json::from_str::<String>(&j.finish()).unwrap(), t);
        }
    }
}
