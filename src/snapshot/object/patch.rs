//! Patches of a record's top-level fields: the fields that changed, spliced
//! as bytes, with the typed re-encoding for records not in the writer's form.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::record::{Stored, StoredRef};

/// The fields of a stored record, in the order `StoredRef` writes them.
const FIELDS: [&[u8]; 6] = [
    b"\"id\"",
    b"\"native_type\"",
    b"\"name\"",
    b"\"status\"",
    b"\"tags\"",
    b"\"attributes\"",
];

/// The top-level members (quoted key, value) of a compact JSON object, as
/// raw bytes. `None` for anything else (whitespace included).
pub(crate) fn members(json: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::with_capacity(6);
    if json.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    if json.get(i) == Some(&b'}') {
        return (json.len() == 2).then_some(out);
    }
    loop {
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let k_end = skip_string(json, i)?;
        if json.get(k_end) != Some(&b':') {
            return None;
        }
        let v_end = skip_value(json, k_end + 1)?;
        out.push((&json[i..k_end], &json[k_end + 1..v_end]));
        match json.get(v_end) {
            Some(b',') => i = v_end + 1,
            Some(b'}') if v_end + 1 == json.len() => return Some(out),
            _ => return None,
        }
    }
}

/// The end of the JSON value starting at `start`. Strings and nesting are
/// followed; a scalar runs to the next `,`, `:`, `}` or `]`. Values are not
/// checked further (the content hash is).
fn skip_value(b: &[u8], start: usize) -> Option<usize> {
    let composite = matches!(b.get(start)?, b'"' | b'{' | b'[');
    let mut i = start;
    let mut depth = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => i = skip_string(b, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth == 0 => break,
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            b',' | b':' if depth == 0 => break,
            b' ' | b'\t' | b'\n' | b'\r' => return None,
            _ => i += 1,
        }
        if composite && depth == 0 {
            return Some(i);
        }
    }
    (i > start && !composite).then_some(i)
}

/// The end of the JSON string whose opening quote is at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match *b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// A record's fields by `FIELDS` position, or `None` when it is not in the
/// form `encode_resource` writes (unknown or repeated field, out of order).
fn record_fields(json: &[u8]) -> Option<[Option<&[u8]>; 6]> {
    let mut out = [None; 6];
    let mut next = 0;
    for (k, v) in members(json)? {
        let f = FIELDS.iter().position(|f| *f == k)?;
        if f < next {
            return None;
        }
        out[f] = Some(v);
        next = f + 1;
    }
    Some(out)
}

/// The top-level fields of `new` that differ from `old` (`null` = removed),
/// as a JSON object in key order. Values are copied as they are, so the
/// patch applied to `old` gives back exactly `new`.
pub(super) fn patch(old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let (o, n) = (record_fields(old)?, record_fields(new)?);
    // Key order of the object (what a sorted map writes).
    let mut order: Vec<usize> = (0..FIELDS.len()).collect();
    order.sort_by_key(|&f| FIELDS[f]);
    let changed = order.into_iter().filter_map(|f| match (o[f], n[f]) {
        (a, Some(b)) if a != Some(b) => Some((f, b)),
        (Some(_), None) => Some((f, b"null".as_slice())),
        _ => None,
    });
    let mut p = Vec::new();
    put_object(&mut p, changed);
    // Only a patch that gives back `new` exactly is worth storing.
    (apply_patch_raw(old, &p)? == new).then_some(p)
}

/// `old` with the top-level fields of `p` replaced.
pub(super) fn apply_patch(old: &[u8], p: &[u8]) -> Result<Vec<u8>, String> {
    match apply_patch_raw(old, p) {
        Some(v) => Ok(v),
        None => apply_patch_typed(old, p),
    }
}

/// [`apply_patch`] on the bytes: the record's fields and the patch's values
/// are spliced as they are, in the order `StoredRef` writes them. `None`
/// when either is not in the form the writer produces (the typed path
/// decides then).
fn apply_patch_raw(old: &[u8], p: &[u8]) -> Option<Vec<u8>> {
    let mut fields = record_fields(old)?;
    let mut seen = [false; 6];
    for (k, v) in members(p)? {
        let f = FIELDS.iter().position(|f| *f == k)?;
        if std::mem::replace(&mut seen[f], true) {
            return None;
        }
        fields[f] = (v != b"null").then_some(v);
    }
    // What the typed record would refuse or write differently.
    let [id, native_type, name, status, tags, attributes] = fields;
    if id.is_none()
        || native_type.is_none()
        || [name, status].contains(&Some(b"null".as_slice()))
        || [tags, attributes].contains(&Some(b"{}".as_slice()))
    {
        return None;
    }
    let mut out = Vec::with_capacity(old.len() + p.len());
    put_object(
        &mut out,
        fields
            .iter()
            .enumerate()
            .filter_map(|(f, v)| v.map(|v| (f, v))),
    );
    Some(out)
}

/// Appends `{"field":value,…}`: each of `FIELDS[f]` (already quoted) with
/// its raw JSON value, in the order given.
fn put_object<'v>(out: &mut Vec<u8>, fields: impl Iterator<Item = (usize, &'v [u8])>) {
    out.push(b'{');
    for (i, (f, v)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(FIELDS[f]);
        out.push(b':');
        out.extend_from_slice(v);
    }
    out.push(b'}');
}

/// [`apply_patch`] through the typed record, re-encoded as `encode_resource` would.
fn apply_patch_typed(old: &[u8], p: &[u8]) -> Result<Vec<u8>, String> {
    let mut rec: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(old).map_err(|e| format!("bad record under a patch: {e}"))?;
    let p: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(p).map_err(|e| format!("bad patch: {e}"))?;
    for (k, v) in p {
        if v.is_null() {
            rec.remove(&k);
        } else {
            rec.insert(k, v);
        }
    }
    let s: Stored = serde_json::from_value(serde_json::Value::Object(rec.into_iter().collect()))
        .map_err(|e| format!("bad patched record: {e}"))?;
    let attributes = s.attributes;
    let sr = StoredRef {
        id: &s.id,
        native_type: &s.native_type,
        name: s.name.as_deref(),
        status: s.status.as_deref(),
        tags: &s.tags,
        attributes: Cow::Borrowed(&attributes),
    };
    serde_json::to_vec(&sr).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::object::encode_resource;
    use crate::snapshot::object::tests::{Rng, mutate, resource};

    /// The splice on the bytes gives what the typed re-encoding gives, and
    /// every patch the writer makes gives back the new record exactly.
    #[test]
    fn raw_patch_matches_the_typed_patch() {
        let mut rng = Rng(7);
        let mut patched = 0;
        for i in 0..5000 {
            let old = resource(&mut rng, &format!("i-{i}"));
            let new = mutate(&mut rng, &old);
            let (o, n) = (encode_resource(&old), encode_resource(&new));
            if o == n {
                continue;
            }
            let p = patch(&o, &n).expect("canonical records always patch");
            assert_eq!(apply_patch_raw(&o, &p).as_deref(), Some(n.as_slice()));
            assert_eq!(apply_patch_typed(&o, &p).unwrap(), n);
            patched += 1;
        }
        assert!(patched > 4000);
        // What the typed path refuses, the raw path does not take either.
        let o = encode_resource(&resource(&mut Rng(1), "i-1"));
        for p in [
            br#"{"id":null}"#.as_slice(),
            br#"{"unknown":1}"#,
            br#"{"tags":{}}"#,
            br#"{"name":null,"name":"x"}"#,
            br#"{ "name":"x"}"#,
        ] {
            assert_eq!(
                apply_patch_raw(&o, p),
                None,
                "{}",
                String::from_utf8_lossy(p)
            );
        }
        assert_eq!(members(br#"{}"#), Some(Vec::new()));
        assert_eq!(
            members(br#"{"a":[1,{"b":"}"}],"c":2}"#).map(|m| m.len()),
            Some(2)
        );
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1}x",
        ] {
            assert_eq!(members(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
