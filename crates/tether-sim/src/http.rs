//! The simulator's view of one HTTP exchange: a [`Req`] with raw path, raw
//! query, lower-cased headers and the whole body, and a [`Resp`] the vendor
//! modules build. Keeping the raw forms is what lets signatures be rebuilt
//! exactly from what the client sent.

use std::sync::atomic::{AtomicU64, Ordering};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    /// The query string as sent, without `?`.
    pub query: String,
    /// Header names lower-cased, values as received, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::encode::parse_pairs(&self.query)
    }

    /// Whether the body is an HTML form.
    pub fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|c| {
            c.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }

    /// Decoded form-body parameters (empty unless the body is a form).
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        if self.is_form() {
            crate::encode::parse_pairs(&String::from_utf8_lossy(&self.body))
        } else {
            Vec::new()
        }
    }

    /// Query and form parameters merged (query first).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = self.query_pairs();
        p.extend(self.form_pairs());
        p
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, v: &impl serde::Serialize) -> Resp {
        let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
        Resp::new(status, "application/json", body)
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Resp {
        self.headers.push((name, value.into()));
        self
    }

    /// Replaces the content type.
    pub fn content_type(mut self, ct: &str) -> Resp {
        for h in &mut self.headers {
            if h.0 == "content-type" {
                h.1 = ct.to_string();
            }
        }
        self
    }
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

/// A fresh request id shaped like a UUID (unique within this process).
pub fn request_id() -> String {
    use crate::rng::mix;
    let n = REQUEST_SEQ.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (
        mix(n ^ 0x5eed_1d5e_ed1d),
        mix(n.rotate_left(32) ^ 0x0dd_ba11),
    );
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a & 0xfff,
        0x8000 | (b >> 48) as u16 & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}
