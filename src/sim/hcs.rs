//! (being written)
use crate::sim::http::{Req, Resp};
use crate::sim::server::Engine;

pub fn handle(_e: &Engine, _req: &Req) -> Resp {
    Resp::new(501, "text/plain", "not yet")
}
