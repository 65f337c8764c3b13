//! The validated config model: what the rest of tether works from.
//!
//! Everything here has passed validation: values are well formed, references
//! resolve, the dependency graph is acyclic. Spans point back into
//! [`Sources`](crate::diag::Sources) for later diagnostics. The model
//! serialises to JSON as described by `schemas/config.schema.json`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Sources, Span};

/// Version of the config-as-JSON document.
pub const CONFIG_FORMAT_VERSION: &str = "1";

/// A cloud vendor tether knows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Aws,
    Alibaba,
    Azure,
    Hcs,
}

impl Vendor {
    pub const ALL: [Vendor; 4] = [Vendor::Aws, Vendor::Alibaba, Vendor::Azure, Vendor::Hcs];

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Aws => "aws",
            Vendor::Alibaba => "alibaba",
            Vendor::Azure => "azure",
            Vendor::Hcs => "hcs",
        }
    }

    /// Human name of the vendor.
    pub fn title(self) -> &'static str {
        match self {
            Vendor::Aws => "AWS",
            Vendor::Alibaba => "Alibaba Cloud",
            Vendor::Azure => "Azure",
            Vendor::Hcs => "Huawei Cloud Stack",
        }
    }

    /// The attributes that hold age ciphertext for this vendor.
    pub fn secret_attributes(self) -> &'static [&'static str] {
        match self {
            Vendor::Aws | Vendor::Alibaba => &["secret_access_key"],
            Vendor::Azure => &["application_secret"],
            Vendor::Hcs => &["password"],
        }
    }
}

/// The resource types tether lists for `vendor` (docs/design.md §3): what
/// sync fetches (`cloud::list`) and what an account's `resource_types` may
/// name. Defined here, beside [`Vendor`], because the config layer is below
/// the cloud layer.
pub fn resource_types(vendor: Vendor) -> &'static [&'static str] {
    match vendor {
        Vendor::Aws => &["instance", "vpc", "subnet", "security_group"],
        Vendor::Alibaba => &["instance", "vpc", "vswitch", "security_group"],
        Vendor::Azure => &["resource_group", "resource"],
        Vendor::Hcs => &["instance", "vpc", "subnet"],
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Vendor {
    type Err = ();
    fn from_str(s: &str) -> Result<Vendor, ()> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// An account address: `<vendor>.<name>`, e.g. `aws.prod`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[schemars(with = "String")]
pub struct Address {
    pub vendor: Vendor,
    pub name: String,
}

impl Address {
    pub fn new(vendor: Vendor, name: impl Into<String>) -> Address {
        Address {
            vendor,
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.vendor, self.name)
    }
}

/// Why a string is not an account address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("an account address is `<vendor>.<name>`, such as `aws.prod`")]
    Shape,
    #[error("unknown vendor `{0}` (expected one of aws, alibaba, azure, hcs)")]
    Vendor(String),
    #[error(
        "invalid account name `{0}`: use letters, digits, `_` and `-`, starting with a letter or `_`"
    )]
    Name(String),
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Address, AddressError> {
        let (v, n) = s.split_once('.').ok_or(AddressError::Shape)?;
        let vendor = v
            .parse::<Vendor>()
            .map_err(|()| AddressError::Vendor(v.to_string()))?;
        if !is_valid_name(n) {
            return Err(AddressError::Name(n.to_string()));
        }
        Ok(Address::new(vendor, n))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Account names follow HCL identifier rules so addresses can be written bare.
pub fn is_valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Settings from the optional `tether { … }` block, with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Settings {
    /// State file, relative to the config dir.
    pub state: PathBuf,
    /// Snapshot store directory, relative to the config dir.
    pub snapshots: PathBuf,
    /// age recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`) secrets are encrypted to.
    pub recipients: Vec<String>,
    /// Where state, locks, snapshots and the audit log live: `local`
    /// (files beside the config) or `pg` (PostgreSQL, shared by every runner).
    pub backend: BackendKind,
    /// PostgreSQL schema of the `pg` backend.
    pub pg_schema: String,
    /// Workspace of the `pg` backend: configs that share a database each
    /// use their own.
    pub workspace: String,
    /// Default number of vendor requests in flight at once (apply: accounts
    /// verified at once, one request each at a time; sync and drift:
    /// sign-ins, discoveries and partition fetches).
    pub parallelism: u32,
    /// Days after which an access key is reported for rotation.
    pub max_key_age: u32,
    /// Days before a secret's expiry from which it is reported.
    pub secret_expiry_warning: u32,
    /// An undeclared member of a main account's organization is a change
    /// for `plan --refresh` and `drift` with `--detailed-exitcode`, not
    /// only a finding.
    pub require_declared_members: bool,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub recipient_spans: Vec<Span>,
}

pub const DEFAULT_STATE: &str = "tether.state.json";
pub const DEFAULT_SNAPSHOTS: &str = ".tether/snapshots";
pub const DEFAULT_PARALLELISM: u32 = 10;
pub const DEFAULT_MAX_KEY_AGE: u32 = 90;
pub const DEFAULT_SECRET_EXPIRY_WARNING: u32 = 30;
pub const DEFAULT_PG_SCHEMA: &str = "tether";
pub const DEFAULT_WORKSPACE: &str = "default";

/// The `backend` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Files: the state file, its `.lock`, the snapshot directory, `.tether/audit.jsonl`.
    #[default]
    Local,
    /// PostgreSQL, from `TETHER_PG_CONN_STR` or the `PG*` variables.
    Pg,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Local => "local",
            BackendKind::Pg => "pg",
        }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            state: PathBuf::from(DEFAULT_STATE),
            snapshots: PathBuf::from(DEFAULT_SNAPSHOTS),
            recipients: Vec::new(),
            backend: BackendKind::Local,
            pg_schema: DEFAULT_PG_SCHEMA.to_string(),
            workspace: DEFAULT_WORKSPACE.to_string(),
            parallelism: DEFAULT_PARALLELISM,
            max_key_age: DEFAULT_MAX_KEY_AGE,
            secret_expiry_warning: DEFAULT_SECRET_EXPIRY_WARNING,
            require_declared_members: false,
            span: None,
            recipient_spans: Vec::new(),
        }
    }
}

/// Where a secret's ciphertext comes from. Never plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SecretSource {
    /// Armored age ciphertext written inline in the HCL file.
    Inline { armored: String },
    /// `file("…")`: an age file (armored or binary). `path` is as written,
    /// `resolved` is relative to the config dir.
    File { path: String, resolved: PathBuf },
}

/// A secret attribute: age ciphertext and where it was declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SecretRef {
    /// The attribute name (`secret_access_key`, `application_secret`, `password`).
    pub attribute: String,
    #[serde(flatten)]
    pub source: SecretSource,
    /// Span of the attribute's value expression.
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Option<Span>,
}

/// AWS and Alibaba Cloud share the same account shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct KeyAccount {
    pub main_account_id: String,
    pub account_name: String,
    pub access_key_id: String,
    /// Absent: reuse the secret recorded in state.
    pub secret_access_key: Option<SecretRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AzureAccount {
    pub tenant_id: String,
    pub tenant_name: String,
    pub application_id: String,
    pub application_secret: Option<SecretRef>,
    /// A member reached through its main account (`via`): the one
    /// subscription of the tenant this account is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HcsAccount {
    pub endpoint: String,
    pub environment_name: String,
    pub account: String,
    pub password: Option<SecretRef>,
    /// A member reached through its main account (`via`): the one project
    /// of the login account this account is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// The vendor-specific part of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "vendor", rename_all = "lowercase")]
pub enum VendorAccount {
    Aws(KeyAccount),
    Alibaba(KeyAccount),
    Azure(AzureAccount),
    Hcs(HcsAccount),
}

impl VendorAccount {
    /// An AWS or Alibaba account of `vendor` (the two share a shape).
    pub fn keyed(vendor: Vendor, k: KeyAccount) -> VendorAccount {
        if vendor == Vendor::Aws {
            VendorAccount::Aws(k)
        } else {
            VendorAccount::Alibaba(k)
        }
    }

    pub fn vendor(&self) -> Vendor {
        match self {
            VendorAccount::Aws(_) => Vendor::Aws,
            VendorAccount::Alibaba(_) => Vendor::Alibaba,
            VendorAccount::Azure(_) => Vendor::Azure,
            VendorAccount::Hcs(_) => Vendor::Hcs,
        }
    }

    /// The secret of this account, if declared.
    pub fn secret(&self) -> Option<&SecretRef> {
        match self {
            VendorAccount::Aws(a) | VendorAccount::Alibaba(a) => a.secret_access_key.as_ref(),
            VendorAccount::Azure(a) => a.application_secret.as_ref(),
            VendorAccount::Hcs(a) => a.password.as_ref(),
        }
    }

    /// The identity the vendor must confirm: main account id, tenant id
    /// (a member: its subscription), or HCS endpoint (a member: its
    /// project). A change of this value is a replace.
    pub fn identity_key(&self) -> &str {
        match self {
            VendorAccount::Aws(a) | VendorAccount::Alibaba(a) => &a.main_account_id,
            VendorAccount::Azure(a) => a.subscription_id.as_deref().unwrap_or(&a.tenant_id),
            VendorAccount::Hcs(a) => a.project_id.as_deref().unwrap_or(&a.endpoint),
        }
    }
}

/// The role a member trusts its main account with, by default: AWS
/// Organizations' and Alibaba Cloud Resource Directory's.
pub fn default_role(vendor: Vendor) -> Option<&'static str> {
    match vendor {
        Vendor::Aws => Some("OrganizationAccountAccessRole"),
        Vendor::Alibaba => Some("ResourceDirectoryAccountAccessRole"),
        Vendor::Azure | Vendor::Hcs => None,
    }
}

/// How a member account is reached: through its main account (`via`),
/// with no secret of its own. AWS and Alibaba: the main account's key
/// assumes `role_name` in the member; Azure: the tenant's application
/// reads the member's subscription; HCS: the login account reads the
/// member's project. The member's vendor attributes that say where and
/// as whom requests go (key id, tenant and application, HCS endpoint and
/// login account, `api_endpoint`) are the main account's, copied when the
/// config is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Via {
    pub main: Address,
    /// AWS, Alibaba: the role assumed in the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
}

impl Via {
    /// The role assumed (the vendor's default when none is declared).
    pub fn role(&self) -> &str {
        self.role_name
            .as_deref()
            .or_else(|| default_role(self.main.vendor))
            .unwrap_or_default()
    }
}

/// One `account "<vendor>" "<name>"` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Account {
    pub address: Address,
    #[serde(flatten)]
    pub vendor: VendorAccount,
    /// Absent: every region the account can see.
    pub regions: Option<Vec<String>>,
    /// Absent: every supported type.
    pub resource_types: Option<Vec<String>>,
    pub tags: BTreeMap<String, String>,
    pub depends_on: Vec<Address>,
    /// Replaces every service endpoint of the vendor (simulator, private deployment).
    pub api_endpoint: Option<String>,
    /// `enabled = false`: kept in state with its secret, skipped by sync and
    /// drift (its resources stay in the snapshot, stale).
    #[serde(skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// A member reached through its main account, with no secret of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// Span of the block header (`account "aws" "prod"`).
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Option<Span>,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A `moved { from = …, to = … }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Moved {
    pub from: Address,
    pub to: Address,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Option<Span>,
}

/// An `ignore "name" { … }` block: drift findings it matches are shown as
/// ignored, with its reason, instead of as drift. Every matcher it has must
/// match; it has at least one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IgnoreRule {
    /// The block's label, unique in the config.
    pub name: String,
    /// Account address or glob (`aws.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Resource type (`instance`, `security_group`, …).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Resource address or glob (`aws.prod/*/instance/i-0abc*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A tag the resource carries: its key, or `key=value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<TagMatch>,
    /// A changed field's path or glob (`tags.last_scanned`, `attributes.*`):
    /// only those fields of a change are ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The last day (UTC, `YYYY-MM-DD`) the rule matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: Option<Span>,
}

/// The tag an ignore rule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TagMatch {
    pub key: String,
    /// Any value when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A validated configuration.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Config {
    pub format_version: String,
    pub settings: Settings,
    /// Accounts by address, in address order.
    pub accounts: BTreeMap<Address, Account>,
    pub moved: Vec<Moved>,
    /// `ignore` blocks, in name order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<IgnoreRule>,
    /// The config directory.
    #[serde(skip)]
    #[schemars(skip)]
    pub dir: PathBuf,
    /// The files the config was read from.
    #[serde(skip)]
    #[schemars(skip)]
    pub sources: Sources,
}

impl Config {
    pub fn account(&self, addr: &Address) -> Option<&Account> {
        self.accounts.get(addr)
    }
}
