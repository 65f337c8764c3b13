//! Where a decrypted secret may be sent (docs/design.md §8, the trust model).
//!
//! A pull request controls every file of the repository: the config, the
//! state file (and the `state` path that names it), and every `.age` file.
//! CI runs tether on it with an identity that decrypts every secret. So
//! neither the config nor a state file can say where a secret goes. What
//! can is the ciphertext itself:
//!
//! - When `apply` has verified an account, it records the secret in state
//!   *sealed*: re-encrypted to the `recipients` with its destination (vendor,
//!   account, endpoint) inside the encrypted payload, the way an AEAD binds
//!   associated data. Nobody without an identity can change that binding,
//!   and a copied ciphertext carries its real destination with it.
//! - Every later use of a recorded secret (`plan --refresh`, `drift`,
//!   `sync`, apply's sync) opens the payload and [`clear`]s it for the
//!   account at hand: a sealed secret goes only to the destination it was
//!   sealed for; an unsealed one (encrypted by another tool, or copied from
//!   the config's `.age` files into a hand-made state) only to the vendor's
//!   public endpoints or to hosts trusted outside the repository
//!   (`TETHER_TRUSTED_ENDPOINTS`, set by CI or the operator).
//! - `apply` is where trust is extended: it runs on reviewed, merged config,
//!   and sends the config's secret to the config's destination. Even there a
//!   sealed secret goes only to its own destination, or to a new destination
//!   of the same account (an endpoint change under review, which every plan
//!   rendering calls out as a security note).
//!
//! The vendor layer takes only a [`Cleared`] secret, which only [`clear`]
//! makes, and checks once more that the account it signs for has the
//! destination the secret was cleared for.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use crate::cloud::destination::{Cleared, Destination, Place};

use crate::config::{Account, Address};
use crate::error::Result;
use crate::secrets::Secret;
use crate::secrets::recipient::Recipients;

/// The environment variable that names hosts trusted for unsealed secrets.
pub const TRUSTED_ENV: &str = "TETHER_TRUSTED_ENDPOINTS";

/// The first line of a sealed payload.
const MAGIC: &[u8] = b"tether-sealed-secret/1\n";

/// What a sealed payload says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    /// The account the apply verified, e.g. `hcs.dc1`.
    account: String,
    /// [`Destination::canonical`].
    destination: String,
}

/// Where a sealed secret may go, as read from inside its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub account: String,
    pub destination: Destination,
}

/// A decrypted payload: the secret, and its seal when it has one.
pub struct Opened {
    pub seal: Option<Seal>,
    pub secret: Secret,
}

/// The payload of a sealed secret: magic line, header line, secret bytes.
pub fn seal_payload(secret: &Secret, account: &Address, to: &Destination) -> Zeroizing<Vec<u8>> {
    let header = serde_json::to_string(&Header {
        account: account.to_string(),
        destination: to.canonical(),
    })
    .expect("a header serializes");
    let mut out = Zeroizing::new(Vec::with_capacity(
        MAGIC.len() + header.len() + 1 + secret.len(),
    ));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(header.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(secret.expose());
    out
}

/// Encrypts `secret` to `recipients`, sealed for `account` at `to`: the
/// armored ciphertext `apply` records in state.
pub fn seal(
    secret: &Secret,
    account: &Address,
    to: &Destination,
    recipients: &Recipients,
) -> Result<String> {
    crate::secrets::encrypt::armored(&seal_payload(secret, account, to), recipients)
}

/// Splits a decrypted payload into its seal and the secret. A payload that
/// starts like a seal but does not parse as one is damaged, not unsealed.
pub fn open(plain: Secret) -> std::result::Result<Opened, String> {
    let bytes = plain.expose();
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Ok(Opened {
            seal: None,
            secret: plain,
        });
    };
    let damaged = || "its seal (the destination apply bound it to) is damaged".to_string();
    let nl = rest.iter().position(|b| *b == b'\n').ok_or_else(damaged)?;
    let header: Header = serde_json::from_slice(&rest[..nl]).map_err(|_| damaged())?;
    let destination = Destination::from_canonical(&header.destination).ok_or_else(damaged)?;
    let secret = Secret::from_slice(&rest[nl + 1..]);
    Ok(Opened {
        seal: Some(Seal {
            account: header.account,
            destination,
        }),
        secret,
    })
}

/// Hosts trusted outside the repository for secrets without a seal.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    entries: Vec<String>,
}

impl Trust {
    /// `TETHER_TRUSTED_ENDPOINTS`: origins (`https://hcs.example.com:8443`),
    /// `host[:port]`, or HCS domains, separated by commas or spaces.
    pub fn from_env() -> Trust {
        Trust::new(
            std::env::var(TRUSTED_ENV)
                .unwrap_or_default()
                .split([',', ' ', '\n', '\t'])
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string),
        )
    }

    pub fn new(entries: impl IntoIterator<Item = String>) -> Trust {
        Trust {
            entries: entries
                .into_iter()
                .map(|e| e.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Trust in exactly one destination: what an operator (or a test, or a
    /// benchmark) that starts the simulator itself says from outside the
    /// repository.
    pub fn only(to: &Destination) -> Trust {
        match &to.place {
            Place::Origin(o) => Trust::new([o.clone()]),
            Place::Domain(d) => Trust::new([d.clone()]),
            Place::Public => Trust::default(),
        }
    }

    /// Whether `to` is trusted for an unsealed secret.
    pub fn trusts(&self, to: &Destination) -> bool {
        match &to.place {
            Place::Public => true,
            Place::Origin(o) => {
                let authority = o.split_once("://").map_or(o.as_str(), |(_, a)| a);
                self.entries.iter().any(|e| {
                    e == o
                        || e == authority
                        || (e.contains("://") && crate::cloud::destination::origin(e) == *o)
                })
            }
            Place::Domain(d) => self.entries.iter().any(|e| e == d),
        }
    }
}

/// What a secret is being cleared for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// A recorded secret used for the account recorded in state (refresh,
    /// drift, sync).
    Recorded,
    /// `apply` of reviewed config: the account's destination before this
    /// apply, when it was in state (under this address, or `previous`).
    Apply {
        before: Option<&'a Destination>,
        previous: Option<&'a Address>,
    },
}

/// A secret refused for a destination: nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{account}: refused to send its secret to {to}: {reason}")]
pub struct Refusal {
    pub account: Address,
    pub to: String,
    pub reason: String,
}

/// Clears `opened` for `account` and `purpose`, or says why not.
pub fn clear(
    account: &Account,
    opened: Opened,
    trust: &Trust,
    purpose: Purpose<'_>,
) -> std::result::Result<Cleared, Refusal> {
    let to = Destination::of(account);
    let refuse = |reason: String| Refusal {
        account: account.address.clone(),
        to: to.to_string(),
        reason,
    };
    match (&opened.seal, purpose) {
        (Some(seal), _) if seal.destination == to => {}
        (Some(seal), Purpose::Apply { before, previous })
            if before == Some(&seal.destination)
                && (seal.account == account.address.to_string()
                    || previous.is_some_and(|p| seal.account == p.to_string())) =>
        {
            // An endpoint change of this very account, reviewed and applied.
        }
        (Some(seal), Purpose::Recorded) => {
            return Err(refuse(format!(
                "the apply that verified it bound it to {} ({}); only `tether apply` of a reviewed change can move a secret to another endpoint",
                seal.destination, seal.account
            )));
        }
        (Some(seal), Purpose::Apply { .. }) => {
            return Err(refuse(format!(
                "this ciphertext is sealed for {} at {}, not for this account; encrypt the account's own secret (`tether secrets set {} …`)",
                seal.account, seal.destination, account.address
            )));
        }
        (None, Purpose::Apply { .. }) => {}
        (None, Purpose::Recorded) if trust.trusts(&to) => {}
        (None, Purpose::Recorded) => {
            return Err(refuse(format!(
                "the recorded secret carries no destination (it was not sealed by `tether apply`) and {to} is not a public {} endpoint; apply the account again to seal it, or trust the host outside the repository with {TRUSTED_ENV}",
                to.vendor.title()
            )));
        }
    }
    Ok(Cleared::new(opened.secret, to))
}

/// Why a recorded account could not be used: nothing was sent for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// The state entry is not a usable account (edited by hand, damaged).
    #[error("the state entry is not usable: {0}")]
    Entry(String),
    /// No identity at hand decrypts the recorded secret.
    #[error("the recorded secret cannot be decrypted: {0}")]
    Decrypt(String),
    #[error("refused to send its secret to {}: {}", .0.to, .0.reason)]
    Refused(Refusal),
}

impl Unusable {
    /// Why, as a problem of the account (`state`, `decrypt` or `refused`).
    pub fn problem(&self) -> crate::problem::Problem {
        use crate::problem::{Problem, ProblemKind};
        let kind = match self {
            Unusable::Entry(_) => ProblemKind::State,
            Unusable::Decrypt(_) => ProblemKind::Decrypt,
            Unusable::Refused(_) => ProblemKind::Refused,
        };
        Problem::new(kind, self.to_string())
    }
}

/// The account recorded in state at `address`, and its recorded secret
/// decrypted, opened and cleared for the destination recorded with it:
/// what refresh, drift and sync authenticate with.
///
/// A member (`via`) has no secret of its own: its main account's, as
/// recorded in `state` now (so a key the main account rotated reaches its
/// members at once), cleared for the member's recorded destination, which
/// must be the one the main account's secret is sealed for.
pub fn recorded(
    address: &Address,
    entry: &crate::state::AccountState,
    state: &crate::state::State,
    ids: &crate::secrets::identity::Identities,
    trust: &Trust,
) -> std::result::Result<(Account, Cleared), Unusable> {
    let account = entry.to_account(address).map_err(Unusable::Entry)?;
    let source = match &account.via {
        None => entry,
        Some(via) => state.accounts.get(&via.main).ok_or_else(|| {
            Unusable::Entry(format!(
                "it is reached through `{}`, which is not in state",
                via.main
            ))
        })?,
    };
    let plain = crate::secrets::decrypt::decrypt_bytes(source.secret.ciphertext.as_bytes(), ids)
        .map_err(Unusable::Decrypt)?;
    let opened = open(plain).map_err(Unusable::Decrypt)?;
    let cleared = clear(&account, opened, trust, Purpose::Recorded).map_err(Unusable::Refused)?;
    Ok((account, cleared))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HcsAccount, KeyAccount, Vendor, VendorAccount};

    fn aws(endpoint: Option<&str>) -> Account {
        Account {
            address: Address::new(Vendor::Aws, "prod"),
            vendor: VendorAccount::Aws(KeyAccount {
                main_account_id: "123456789012".into(),
                account_name: "Prod".into(),
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key: None,
            }),
            regions: None,
            resource_types: None,
            tags: Default::default(),
            enabled: true,
            via: None,
            depends_on: Vec::new(),
            api_endpoint: endpoint.map(str::to_string),
            span: None,
        }
    }

    fn hcs(endpoint: &str) -> Account {
        Account {
            address: Address::new(Vendor::Hcs, "dc1"),
            vendor: VendorAccount::Hcs(HcsAccount {
                endpoint: endpoint.into(),
                environment_name: "dc1".into(),
                account: "ops".into(),
                password: None,
                project_id: None,
            }),
            ..aws(None)
        }
    }

    fn sealed(account: &Account, to: &Destination) -> Opened {
        let payload = seal_payload(&Secret::from_slice(b"s3cret"), &account.address, to);
        open(Secret::new(payload)).unwrap()
    }

    #[test]
    fn destinations_follow_the_urls_the_vendor_code_builds() {
        assert_eq!(Destination::of(&aws(None)).place, Place::Public);
        assert_eq!(
            Destination::of(&aws(Some("HTTP://127.0.0.1:8080/x/"))).place,
            Place::Origin("http://127.0.0.1:8080".into())
        );
        assert_eq!(
            Destination::of(&aws(Some("https://ec2.example.com:443"))).place,
            Place::Origin("https://ec2.example.com".into())
        );
        assert_eq!(
            Destination::of(&hcs("HCS.Example.com")).place,
            Place::Domain("hcs.example.com".into())
        );
        assert_eq!(
            Destination::of(&hcs("10.0.0.5")).place,
            Place::Origin("https://10.0.0.5".into())
        );
        assert_eq!(
            Destination::of(&hcs("http://127.0.0.1:9000")).place,
            Place::Origin("http://127.0.0.1:9000".into())
        );
    }

    #[test]
    fn a_sealed_secret_opens_to_its_seal_and_the_exact_bytes() {
        let a = hcs("hcs.example.com");
        let to = Destination::of(&a);
        let o = sealed(&a, &to);
        assert_eq!(o.secret.expose(), b"s3cret");
        let seal = o.seal.unwrap();
        assert_eq!(seal.destination, to);
        assert_eq!(seal.account, "hcs.dc1");
        let plain = open(Secret::from_slice(b"plain")).unwrap();
        assert!(plain.seal.is_none());
        assert_eq!(plain.secret.expose(), b"plain");
        let damaged = open(Secret::from_slice(b"tether-sealed-secret/1\n{not json\nx"));
        assert!(damaged.is_err());
    }

    #[test]
    fn a_sealed_secret_is_refused_for_any_other_destination() {
        let real = hcs("hcs.example.com");
        let evil = hcs("evil.example.net");
        let o = sealed(&real, &Destination::of(&real));
        let e = clear(&evil, o, &Trust::default(), Purpose::Recorded).unwrap_err();
        assert!(e.reason.contains("*.hcs.example.com"), "{e}");
        let o = sealed(&real, &Destination::of(&real));
        assert!(clear(&real, o, &Trust::default(), Purpose::Recorded).is_ok());
        // Trust outside the repository does not move a sealed secret either.
        let o = sealed(&real, &Destination::of(&real));
        let trust = Trust::new(["evil.example.net".to_string()]);
        assert!(clear(&evil, o, &trust, Purpose::Recorded).is_err());
    }

    #[test]
    fn an_unsealed_secret_goes_only_to_public_or_trusted_endpoints() {
        let plain = || open(Secret::from_slice(b"k")).unwrap();
        let none = Trust::default();
        assert!(clear(&aws(None), plain(), &none, Purpose::Recorded).is_ok());
        let sim = aws(Some("http://127.0.0.1:4566"));
        assert!(clear(&sim, plain(), &none, Purpose::Recorded).is_err());
        for entry in [
            "127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "HTTP://127.0.0.1:4566",
        ] {
            let t = Trust::new([entry.to_string()]);
            assert!(
                clear(&sim, plain(), &t, Purpose::Recorded).is_ok(),
                "{entry}"
            );
        }
        let t = Trust::new(["127.0.0.1:4567".to_string()]);
        assert!(clear(&sim, plain(), &t, Purpose::Recorded).is_err());
        let t = Trust::new(["hcs.example.com".to_string()]);
        assert!(clear(&hcs("hcs.example.com"), plain(), &t, Purpose::Recorded).is_ok());
        assert!(clear(&hcs("x.hcs.example.com"), plain(), &t, Purpose::Recorded).is_err());
    }

    #[test]
    fn apply_moves_a_seal_only_for_the_same_account() {
        let old = hcs("hcs.example.com");
        let new = hcs("hcs2.example.com");
        let before = Destination::of(&old);
        let apply = Purpose::Apply {
            before: Some(&before),
            previous: None,
        };
        let o = sealed(&old, &before);
        assert!(clear(&new, o, &Trust::default(), apply).is_ok());
        // The same seal copied to another account is refused.
        let mut other = new.clone();
        other.address = Address::new(Vendor::Hcs, "evil");
        let o = sealed(&old, &before);
        assert!(clear(&other, o, &Trust::default(), apply).is_err());
        // Unsealed config secrets are what apply verifies and seals.
        let o = open(Secret::from_slice(b"k")).unwrap();
        assert!(clear(&new, o, &Trust::default(), apply).is_ok());
    }
}
