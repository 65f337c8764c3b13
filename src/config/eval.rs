//! Evaluation of attribute values: tether config values are literals.
//!
//! Strings, numbers, bools, lists, maps, heredocs, `file("…")` and bare
//! account references (`aws.prod`) are accepted; anything computed
//! (interpolation, operators, conditionals, other functions) is an error.

use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::template::{Element, Template};

use crate::diag::Diagnostic;
use crate::diag::{FileId, Span};

/// A value with where it was written.
#[derive(Debug, Clone)]
pub(super) struct Spanned<T> {
    pub v: T,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    List(Vec<Spanned<Value>>),
    Map(Vec<(Spanned<String>, Spanned<Value>)>),
    /// `file("path")`, with the path as written.
    File(String),
    /// A bare reference such as `aws.prod`.
    Ref(Vec<String>),
}

impl Value {
    /// The type name used in "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::File(_) => "file()",
            Value::Ref(_) => "reference",
        }
    }
}

pub(super) struct Eval<'a> {
    pub file: FileId,
    pub text: &'a str,
}

impl Eval<'_> {
    pub fn span_of(&self, range: Option<std::ops::Range<usize>>) -> Span {
        Span::new(self.file, range.unwrap_or(0..0))
    }

    /// Evaluates a value; on failure pushes a diagnostic and returns `None`.
    pub fn eval(&self, expr: &Expression, diags: &mut Vec<Diagnostic>) -> Option<Spanned<Value>> {
        let span = self.span_of(expr.span());
        let v = match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => Value::Number(n.value().to_string()),
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::StringTemplate(t) => Value::String(self.template(t, &span, diags)?),
            Expression::HeredocTemplate(h) => {
                let mut h = (**h).clone();
                if h.indent().is_some() || self.is_indented_heredoc(&span) {
                    h.dedent();
                }
                Value::String(self.template(&h.template, &span, diags)?)
            }
            Expression::Parenthesis(p) => return self.eval(p.inner(), diags),
            Expression::Array(a) => {
                let mut items = Vec::with_capacity(a.len());
                let mut ok = true;
                for e in a.iter() {
                    match self.eval(e, diags) {
                        Some(v) => items.push(v),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Value::List(items)
            }
            Expression::Object(o) => {
                let mut entries = Vec::with_capacity(o.len());
                let mut ok = true;
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => Some(Spanned {
                            v: id.as_str().to_string(),
                            span: self.span_of(id.span()),
                        }),
                        ObjectKey::Expression(e) => match self.eval(e, diags) {
                            Some(Spanned {
                                v: Value::String(s),
                                span,
                            }) => Some(Spanned { v: s, span }),
                            Some(other) => {
                                diags.push(
                                    Diagnostic::error(format!(
                                        "a map key must be a string, found {}",
                                        other.v.type_name()
                                    ))
                                    .at(other.span),
                                );
                                None
                            }
                            None => None,
                        },
                    };
                    let val = self.eval(v.expr(), diags);
                    match (key, val) {
                        (Some(k), Some(v)) => entries.push((k, v)),
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Value::Map(entries)
            }
            Expression::Variable(v) => Value::Ref(vec![v.as_str().to_string()]),
            Expression::Traversal(t) => {
                let Expression::Variable(root) = &t.expr else {
                    return self.unsupported(expr, &span, diags);
                };
                let mut parts = vec![root.as_str().to_string()];
                for op in &t.operators {
                    match op.value() {
                        TraversalOperator::GetAttr(id) => parts.push(id.as_str().to_string()),
                        _ => return self.unsupported(expr, &span, diags),
                    }
                }
                Value::Ref(parts)
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                if name != "file" || call.name.is_namespaced() {
                    diags.push(
                        Diagnostic::error(format!("unknown function `{name}`"))
                            .at(span)
                            .help("the only function is `file(\"path\")`, which reads an age-encrypted secret file"),
                    );
                    return None;
                }
                if call.args.len() != 1 || call.args.expand_final() {
                    diags.push(
                        Diagnostic::error(format!(
                            "`file` takes exactly one argument, found {}",
                            call.args.len()
                        ))
                        .at(span)
                        .help("write `file(\"secrets/name.age\")`"),
                    );
                    return None;
                }
                let arg = call.args.get(0)?;
                match self.eval(arg, diags)? {
                    Spanned {
                        v: Value::String(p),
                        ..
                    } if !p.is_empty() => Value::File(p),
                    other => {
                        diags.push(
                            Diagnostic::error(format!(
                                "the argument of `file` must be a non-empty string, found {}",
                                match other.v {
                                    Value::String(_) => "an empty string",
                                    ref v => v.type_name(),
                                }
                            ))
                            .at(other.span),
                        );
                        return None;
                    }
                }
            }
            Expression::Conditional(_)
            | Expression::UnaryOp(_)
            | Expression::BinaryOp(_)
            | Expression::ForExpr(_) => return self.unsupported(expr, &span, diags),
        };
        Some(Spanned { v, span })
    }

    /// `<<-EOT` heredocs have their common indentation removed.
    fn is_indented_heredoc(&self, span: &Span) -> bool {
        self.text
            .get(span.range.clone())
            .is_some_and(|s| s.starts_with("<<-"))
    }

    fn template(&self, t: &Template, span: &Span, diags: &mut Vec<Diagnostic>) -> Option<String> {
        let mut out = String::new();
        for el in t.iter() {
            match el {
                Element::Literal(s) => out.push_str(s.value()),
                Element::Interpolation(_) | Element::Directive(_) => {
                    diags.push(
                        Diagnostic::error("interpolation is not supported in tether config")
                            .at(span.clone())
                            .help("write the value literally; `${` can be escaped as `$${`"),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn unsupported(
        &self,
        expr: &Expression,
        span: &Span,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Spanned<Value>> {
        let what = match expr {
            Expression::Conditional(_) => "a conditional expression",
            Expression::UnaryOp(_) | Expression::BinaryOp(_) => "an operator expression",
            Expression::ForExpr(_) => "a `for` expression",
            _ => "this expression",
        };
        diags.push(
            Diagnostic::error(format!("{what} is not supported here"))
                .at(span.clone())
                .help("tether config values are literals: strings, numbers, lists, maps, `file(\"…\")` and account references such as `aws.prod`"),
        );
        None
    }
}
