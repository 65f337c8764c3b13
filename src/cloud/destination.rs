//! Where an account's requests go ([`Destination`]), computed exactly as
//! the vendor code builds its URLs, and the [`Cleared`] secret: the only
//! form in which this layer takes a secret. Whether a secret may go to a
//! destination is decided in `crate::trust`.

use std::fmt;

use crate::config::{Account, Vendor};
use crate::secrets::Secret;

/// Where an account's requests go: the vendor's public endpoints, one
/// origin (`api_endpoint`, an HCS `endpoint` given as a URL or an IP), or
/// an HCS domain (`iam-apigateway-proxy.{domain}`, `ecs.{region}.{domain}`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub vendor: Vendor,
    pub place: Place,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The vendor's published public endpoints (AWS, Alibaba, Azure only).
    Public,
    /// Every request goes to this origin: `scheme://host[:port]`, lower case.
    Origin(String),
    /// Every request goes to a host under this domain (HCS).
    Domain(String),
}

impl Destination {
    /// Where `account`'s requests go, exactly as the vendor code builds its URLs.
    pub fn of(account: &Account) -> Destination {
        let vendor = account.address.vendor;
        let place = match (&account.api_endpoint, &account.vendor) {
            (Some(e), _) => Place::Origin(origin(e)),
            (None, crate::config::VendorAccount::Hcs(h)) => {
                let iam = super::hcs::iam_url(&h.endpoint);
                if iam.starts_with("https://iam-apigateway-proxy.") && !h.endpoint.contains("://") {
                    Place::Domain(
                        h.endpoint
                            .trim()
                            .trim_end_matches('/')
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    )
                } else {
                    Place::Origin(origin(&iam))
                }
            }
            (None, _) => Place::Public,
        };
        Destination { vendor, place }
    }

    /// The canonical text sealed into a payload and compared on use.
    pub(crate) fn canonical(&self) -> String {
        match &self.place {
            Place::Public => format!("{} public", self.vendor),
            Place::Origin(o) => format!("{} origin {o}", self.vendor),
            Place::Domain(d) => format!("{} domain {d}", self.vendor),
        }
    }

    pub(crate) fn from_canonical(s: &str) -> Option<Destination> {
        let mut parts = s.splitn(3, ' ');
        let vendor: Vendor = parts.next()?.parse().ok()?;
        let place = match (parts.next()?, parts.next()) {
            ("public", None) => Place::Public,
            ("origin", Some(o)) => Place::Origin(o.to_string()),
            ("domain", Some(d)) => Place::Domain(d.to_string()),
            _ => return None,
        };
        Some(Destination { vendor, place })
    }

    pub fn is_public(&self) -> bool {
        self.place == Place::Public
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Public => write!(f, "the public {} endpoints", self.vendor.title()),
            Place::Origin(o) => f.write_str(o),
            Place::Domain(d) => write!(f, "*.{d}"),
        }
    }
}

/// `scheme://host[:port]` of a URL, lower case, default port dropped; the
/// text itself (trimmed, lower case) when it does not parse as a URL.
pub(crate) fn origin(url: &str) -> String {
    let t = url.trim().trim_end_matches('/');
    match url::Url::parse(t) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        _ => t.to_ascii_lowercase(),
    }
}

/// A secret cleared to be sent to one destination. Only `trust::clear`
/// makes one; the vendor layer takes nothing else. `Debug` shows no secret.
pub struct Cleared {
    secret: Secret,
    destination: Destination,
}

impl fmt::Debug for Cleared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cleared(to {}, (sensitive))", self.destination)
    }
}

impl Cleared {
    /// Only `trust::clear` calls this, after deciding.
    pub(crate) fn new(secret: Secret, destination: Destination) -> Cleared {
        Cleared {
            secret,
            destination,
        }
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Whether this secret may be used for `account`'s requests.
    pub fn allows(&self, account: &Account) -> bool {
        Destination::of(account) == self.destination
    }
}
