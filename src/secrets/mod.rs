//! Secrets: age identities and recipients, the [`Secret`] type, decryption,
//! encryption, in-place edits of config files, and re-encryption (rekey).
//!
//! Invariants:
//! - Plaintext exists only in memory, inside a [`Secret`] (redacting `Debug` /
//!   `Display`, zeroed on drop, no `Serialize`), and only while needed.
//! - Nothing here writes plaintext anywhere: files written hold age ciphertext,
//!   and every write goes through [`crate::fsutil::write_atomic`].
//! - Errors name the account address, the attribute and `file:line:col`, and
//!   never contain plaintext or identity lines.
//! - A command that fails writes nothing: every value is decrypted and
//!   re-encrypted in memory before the first byte is written.

pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod identity;
pub mod recipient;
pub mod rekey;
pub mod secret;
pub mod x25519;

pub use decrypt::{Ciphertext, Origin};
pub use identity::Identities;
pub use recipient::Recipients;
pub use secret::Secret;
