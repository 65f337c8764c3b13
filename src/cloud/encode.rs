//! RFC 3986 percent-encoding, the rule every hand-signed request and URL
//! path segment in the vendor layer uses (Alibaba ACS3 canonical queries,
//! Entra tenant and ARM subscription path segments, HCS project ids and
//! markers).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but the RFC 3986 unreserved `A-Z a-z 0-9 - _ . ~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// RFC 3986 percent-encoding as Alibaba specifies it: unreserved
/// `A-Z a-z 0-9 - _ . ~` kept, every other byte `%XY` in upper-case hex.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_like_alibaba() {
        assert_eq!(percent_encode("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
        assert_eq!(percent_encode("A-Z_0.9"), "A-Z_0.9");
        assert_eq!(percent_encode("+=&%\u{7f}"), "%2B%3D%26%25%7F");
    }
}
