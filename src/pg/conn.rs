//! Where the PostgreSQL server is and how to talk to it: the connection
//! string of `TETHER_PG_CONN_STR` (a libpq URI or `key=value` string), the
//! standard `PG*` variables for whatever it leaves out (as libpq does), and
//! TLS by `sslmode` with rustls.
//!
//! `sslmode` as in libpq: `disable`; `allow` and `prefer` (TLS when the
//! server offers it, the certificate not checked); `require` (TLS, the
//! certificate not checked, unless `sslrootcert` is given: then as
//! `verify-ca`); `verify-ca` (the chain checked against the roots);
//! `verify-full` (the chain and the host name). The roots are the PEM file
//! of `sslrootcert`, the system's with `sslrootcert=system`, and otherwise
//! `~/.postgresql/root.crt` when it exists, else the system's. A relative
//! `sslrootcert` is refused: it would be read from the working directory,
//! which in CI is a checkout a pull request controls.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// Which schema and workspace of the server a config uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub schema: String,
    pub workspace: String,
}

impl Target {
    /// `pg:<schema>/<workspace>`: how messages and errors name it.
    pub fn shown(&self) -> String {
        format!("pg:{}/{}", self.schema, self.workspace)
    }
}

/// The variables a connection is made from (the process environment, or a
/// test's).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

/// The variables read: `TETHER_PG_CONN_STR` and libpq's.
const VARS: &[&str] = &[
    "TETHER_PG_CONN_STR",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGOPTIONS",
];

impl Environment {
    pub fn current() -> Environment {
        let vars = VARS
            .iter()
            .filter_map(|k| {
                std::env::var(k)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v))
            })
            .collect();
        Environment { vars }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environment {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.vars.get(k).map(String::as_str)
    }
}

/// A connection ready to be made.
pub struct Resolved {
    pub config: tokio_postgres::Config,
    pub tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// `host:port/database`, without credentials.
    pub server: String,
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
}

/// The connection the environment describes. Errors never repeat the
/// connection string (it may hold a password).
pub fn resolve(env: &Environment) -> Result<Resolved, String> {
    let (cleaned, mut extra) = match env.get("TETHER_PG_CONN_STR") {
        Some(s) => split_tls_params(s.trim())?,
        None => (String::new(), BTreeMap::new()),
    };
    let mut config = if cleaned.trim().is_empty() {
        tokio_postgres::Config::new()
    } else {
        tokio_postgres::Config::from_str(&cleaned)
            .map_err(|e| format!("TETHER_PG_CONN_STR does not parse: {e}"))?
    };
    for key in ["sslcert", "sslkey", "sslpassword"] {
        if extra.contains_key(key) {
            return Err(format!(
                "`{key}` (a client certificate) is not supported; authenticate with a password"
            ));
        }
    }
    // What the string leaves out comes from the PG* variables, as in libpq.
    if config.get_hosts().is_empty() {
        let hosts = env.get("PGHOST").unwrap_or("localhost");
        for h in hosts.split(',').filter(|h| !h.is_empty()) {
            config.host(h);
        }
        if let Some(a) = env.get("PGHOSTADDR") {
            for a in a.split(',') {
                let ip = a
                    .parse()
                    .map_err(|_| format!("PGHOSTADDR `{a}` is not an IP address"))?;
                config.hostaddr(ip);
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(p) = env.get("PGPORT")
    {
        for p in p.split(',') {
            let port = p
                .parse()
                .map_err(|_| format!("PGPORT `{p}` is not a port number"))?;
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env
            .get("PGUSER")
            .map(str::to_string)
            .unwrap_or_else(crate::host::user_name);
        config.user(user);
    }
    if config.get_password().is_none()
        && let Some(p) = env.get("PGPASSWORD")
    {
        config.password(p);
    }
    if config.get_dbname().is_none()
        && let Some(d) = env.get("PGDATABASE")
    {
        config.dbname(d);
    }
    if config.get_options().is_none()
        && let Some(o) = env.get("PGOPTIONS")
    {
        config.options(o);
    }
    if config.get_application_name().is_none() {
        config.application_name(env.get("PGAPPNAME").unwrap_or("tether"));
    }
    if config.get_connect_timeout().is_none() {
        let secs = match env.get("PGCONNECT_TIMEOUT") {
            Some(s) => s
                .parse::<u64>()
                .map_err(|_| format!("PGCONNECT_TIMEOUT `{s}` is not a number of seconds"))?,
            None => 10,
        };
        config.connect_timeout(Duration::from_secs(secs.max(2)));
    }
    // A dead peer is noticed within a minute, not at the next write.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    let mode = match extra
        .remove("sslmode")
        .or_else(|| env.get("PGSSLMODE").map(str::to_string))
    {
        Some(m) => SslMode::parse(&m)?,
        None => SslMode::Prefer,
    };
    let root = extra
        .remove("sslrootcert")
        .or_else(|| env.get("PGSSLROOTCERT").map(str::to_string));
    let mode = match (mode, &root) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (m, _) => m,
    };
    config.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let tls = tls_for(mode, root.as_deref())?;
    let server = describe(&config);
    Ok(Resolved {
        config,
        tls,
        server,
    })
}

/// `host:port/database` of the first host.
fn describe(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c
        .get_dbname()
        .or(c.get_user())
        .unwrap_or("postgres")
        .to_string();
    format!("{host}:{port}/{db}")
}

/// The connection string without the TLS parameters tokio-postgres does
/// not take (`sslmode=verify-*`, `sslrootcert`, client certificates),
/// which are returned beside it.
fn split_tls_params(s: &str) -> Result<(String, BTreeMap<String, String>), String> {
    const OURS: &[&str] = &["sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword"];
    let mut extra = BTreeMap::new();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        let Some((base, query)) = s.split_once('?') else {
            return Ok((s.to_string(), extra));
        };
        let mut kept = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if OURS.contains(&k.as_ref()) {
                extra.insert(k.into_owned(), v.into_owned());
            } else {
                kept.append_pair(&k, &v);
            }
        }
        let kept = kept.finish();
        let out = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{kept}")
        };
        return Ok((out, extra));
    }
    let mut out = String::new();
    for (k, v) in key_values(s)? {
        if OURS.contains(&k.as_str()) {
            extra.insert(k, v);
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&k);
            out.push_str("='");
            out.push_str(&v.replace('\\', "\\\\").replace('\'', "\\'"));
            out.push('\'');
        }
    }
    Ok((out, extra))
}

/// libpq's `key = value` pairs: values bare or single-quoted, with `\'`
/// and `\\` escapes.
fn key_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!(
                "TETHER_PG_CONN_STR does not parse: `{key}` has no `=` (a key=value string or a postgresql:// URI)"
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "TETHER_PG_CONN_STR does not parse: the quoted value of `{key}` is not closed"
                        ));
                    }
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => {
                            return Err(
                                "TETHER_PG_CONN_STR does not parse: it ends after a backslash"
                                    .into(),
                            );
                        }
                    },
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(c) = chars.next() {
                        value.push(c);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn tls_for(
    mode: SslMode,
    root: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider())))
            .with_no_client_auth(),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(root)?);
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.clone(),
                provider(),
            )
            .build()
            .map_err(|e| format!("TLS: the root certificates cannot be used: {e}"))?;
            if mode == SslMode::VerifyFull {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(webpki)
                    .with_no_client_auth()
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                    .with_no_client_auth()
            }
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn roots(root: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    let default = std::env::var_os("HOME")
        .map(|h| std::path::PathBuf::from(h).join(".postgresql/root.crt"))
        .filter(|p| p.is_file());
    let file = match root {
        Some("system") => None,
        Some(path) if std::path::Path::new(path).is_relative() => {
            // Read from the working directory: in CI, the checkout a pull
            // request controls, which could swap in a CA of its own.
            return Err(format!(
                "sslrootcert `{path}` is a relative path; give an absolute one (a relative path is \
                 read from the working directory, which in CI is a checkout a pull request controls)"
            ));
        }
        Some(path) => Some(std::path::PathBuf::from(path)),
        None => default,
    };
    match file {
        Some(path) => {
            let bytes = crate::fsutil::read_regular(&path, 16 << 20)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| {
                    format!("sslrootcert {}: not a PEM certificate: {e}", path.display())
                })?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!(
                    "sslrootcert {}: holds no certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(
                    "sslmode verify-ca/verify-full needs root certificates: set sslrootcert (or PGSSLROOTCERT) to a PEM file"
                        .into(),
                );
            }
        }
    }
    Ok(store)
}

/// `prefer` and `require`: encrypted, the certificate not checked (as libpq).
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked, the host name not.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(pairs: &[(&str, &str)]) -> Result<Resolved, String> {
        resolve(&Environment::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn a_uri_keeps_what_tokio_postgres_takes_and_hands_tls_params_over() {
        let (s, extra) = split_tls_params(
            "postgresql://u:p%40ss@db.example:6543/app?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            s,
            "postgresql://u:p%40ss@db.example:6543/app?application_name=x"
        );
        assert_eq!(extra["sslmode"], "verify-full");
        assert_eq!(extra["sslrootcert"], "/tmp/ca.pem");
        let r = resolved(&[(
            "TETHER_PG_CONN_STR",
            "postgresql://u:p%40ss@db.example:6543/app?sslmode=disable",
        )])
        .unwrap();
        assert_eq!(r.server, "db.example:6543/app");
        assert_eq!(r.config.get_password(), Some(&b"p@ss"[..]));
    }

    #[test]
    fn key_values_parse_quotes_and_escapes() {
        let kv = key_values("host=h  port = 5 password='a b\\'c' dbname=d\\ x").unwrap();
        assert_eq!(
            kv,
            vec![
                ("host".into(), "h".into()),
                ("port".into(), "5".into()),
                ("password".into(), "a b'c".into()),
                ("dbname".into(), "d x".into()),
            ]
        );
        assert!(key_values("host").unwrap_err().contains("no `=`"));
        assert!(
            key_values("password='x")
                .unwrap_err()
                .contains("not closed")
        );
        let r = resolved(&[(
            "TETHER_PG_CONN_STR",
            "host=h password='a b\\'c' sslmode=require",
        )])
        .unwrap();
        assert_eq!(r.config.get_password(), Some(&b"a b'c"[..]));
    }

    #[test]
    fn pg_variables_fill_what_the_string_leaves_out() {
        let r = resolved(&[
            ("TETHER_PG_CONN_STR", "host=one"),
            ("PGHOST", "two"),
            ("PGPORT", "7777"),
            ("PGUSER", "alice"),
            ("PGPASSWORD", "secret"),
            ("PGDATABASE", "inv"),
        ])
        .unwrap();
        assert_eq!(r.server, "one:7777/inv");
        assert_eq!(r.config.get_user(), Some("alice"));
        assert_eq!(r.config.get_password(), Some(&b"secret"[..]));
        let r = resolved(&[("PGHOST", "two"), ("PGSSLMODE", "disable")]).unwrap();
        assert_eq!(r.server.split(':').next(), Some("two"));
    }

    #[test]
    fn errors_never_repeat_the_connection_string() {
        let e = resolved(&[("TETHER_PG_CONN_STR", "host=h password=hunter2 bogus=1")])
            .err()
            .unwrap();
        assert!(e.contains("does not parse"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = resolved(&[(
            "TETHER_PG_CONN_STR",
            "host=h password=hunter2 sslmode=maybe",
        )])
        .err()
        .unwrap();
        assert!(e.contains("sslmode `maybe`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = resolved(&[("TETHER_PG_CONN_STR", "host=h sslcert=/c.pem")])
            .err()
            .unwrap();
        assert!(e.contains("client certificate"), "{e}");
    }

    #[test]
    fn a_relative_root_file_is_refused() {
        for conn in [
            "host=h sslmode=verify-full sslrootcert=ca.pem",
            "postgresql://u@h/db?sslmode=verify-ca&sslrootcert=certs%2Fca.pem",
        ] {
            let e = resolved(&[("TETHER_PG_CONN_STR", conn)]).err().unwrap();
            assert!(e.contains("is a relative path"), "{e}");
        }
        let e = resolved(&[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "ca.pem")])
            .err()
            .unwrap();
        assert!(e.contains("is a relative path"), "{e}");
    }

    #[test]
    fn a_root_file_that_holds_no_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        crate::fsutil::write_atomic(&p, b"not a certificate\n", None).unwrap();
        let conn = format!("host=h sslmode=verify-full sslrootcert={}", p.display());
        let e = resolved(&[("TETHER_PG_CONN_STR", conn.as_str())])
            .err()
            .unwrap();
        assert!(e.contains("holds no certificate"), "{e}");
    }
}
