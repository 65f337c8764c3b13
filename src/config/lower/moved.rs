//! `moved { from = …, to = … }` blocks: an account renamed within its vendor.

use hcl::edit::structure::Block;

use super::attrs::reference;
use super::{Lower, Lowered};
use crate::config::model::*;
use crate::diag::Diagnostic;

impl Lower<'_> {
    pub(super) fn moved(&mut self, b: &Block, out: &mut Lowered) {
        let header = self.header_span(b);
        if !b.labels.is_empty() {
            self.diags.push(
                Diagnostic::error("the `moved` block takes no labels")
                    .at(header)
                    .help("write `moved { from = aws.old, to = aws.new }`"),
            );
            return;
        }
        let mut a = self.attrs(header.clone(), &b.body, &["from", "to"], "a `moved` block");
        let mut ends = Vec::new();
        for end in ["from", "to"] {
            match a.take(end) {
                None => self.diags.push(
                    Diagnostic::error(format!("missing required attribute `{end}` in `moved`"))
                        .at(header.clone())
                        .help(format!("add `{end} = aws.name`")),
                ),
                Some((v, _)) => match reference(&v.v) {
                    Some(Ok(addr)) => ends.push(addr),
                    Some(Err(e)) => self.diags.push(
                        Diagnostic::error(format!("invalid account address in `{end}`: {e}"))
                            .at(v.span),
                    ),
                    None => self.diags.push(
                        Diagnostic::error(format!(
                            "`{end}` must be an account address, found {}",
                            v.v.type_name()
                        ))
                        .at(v.span)
                        .help(format!("write `{end} = aws.name`")),
                    ),
                },
            }
        }
        if let Ok([from, to]) = <[Address; 2]>::try_from(ends) {
            if from.vendor != to.vendor {
                self.diags.push(
                    Diagnostic::error(format!(
                        "`moved` cannot change the vendor (`{from}` -> `{to}`)"
                    ))
                    .at(header)
                    .help("an account moves to a new name within its vendor"),
                );
                return;
            }
            if from == to {
                self.diags
                    .push(Diagnostic::error(format!("`moved` from `{from}` to itself")).at(header));
                return;
            }
            out.moved.push(Moved {
                from,
                to,
                span: Some(header),
            });
        }
    }
}
