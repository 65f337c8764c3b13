//! X25519 identities that compute their public key once.
//!
//! age's own X25519 identity derives its public key (a scalar multiplication)
//! again for every recipient stanza it tries, which doubles the cost of
//! decrypting thousands of small secrets. This identity holds the key pair and
//! otherwise follows the age specification for X25519 stanzas exactly (the
//! same checks, the same HKDF label, the same AEAD), so it decrypts what age
//! decrypts and refuses what age refuses; a test runs both side by side.

use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::primitives::{aead_decrypt, hkdf};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

const TAG: &str = "X25519";
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const EPK_LEN: usize = 32;
const ENCRYPTED_FILE_KEY_LEN: usize = FILE_KEY_BYTES + 16;

/// An X25519 identity with its public key computed once.
pub struct X25519 {
    secret: StaticSecret,
    public: PublicKey,
}

impl X25519 {
    /// From an `AGE-SECRET-KEY-1…` line already accepted by `age::x25519::Identity`.
    pub fn from_age(id: &age::x25519::Identity) -> Option<X25519> {
        use age::secrecy::ExposeSecret;
        let encoded = id.to_string();
        let (hrp, mut bytes) = bech32::decode(encoded.expose_secret()).ok()?;
        if !hrp.as_str().eq_ignore_ascii_case("age-secret-key-") || bytes.len() != 32 {
            bytes.zeroize();
            return None;
        }
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&bytes);
        bytes.zeroize();
        let secret = StaticSecret::from(raw);
        raw.zeroize();
        let public = PublicKey::from(&secret);
        Some(X25519 { secret, public })
    }
}

impl age::Identity for X25519 {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        let invalid = || Some(Err(age::DecryptError::InvalidHeader));
        // Valid and canonical stanza: one base64 argument of 32 bytes, a 32-byte body.
        let [arg] = &stanza.args[..] else {
            return invalid();
        };
        let Ok(epk_bytes) = STANDARD_NO_PAD.decode(arg) else {
            return invalid();
        };
        let Ok(epk_bytes) = <[u8; EPK_LEN]>::try_from(epk_bytes.as_slice()) else {
            return invalid();
        };
        if STANDARD_NO_PAD.encode(epk_bytes) != *arg || stanza.body.len() != ENCRYPTED_FILE_KEY_LEN
        {
            return invalid();
        }
        let epk = PublicKey::from(epk_bytes);
        let shared = self.secret.diffie_hellman(&epk);
        if bool::from(
            shared
                .as_bytes()
                .iter()
                .fold(0u8, |acc, b| acc | b)
                .ct_eq(&0),
        ) {
            return invalid();
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(epk.as_bytes());
        salt[32..].copy_from_slice(self.public.as_bytes());
        let mut key = hkdf(&salt, LABEL, shared.as_bytes());
        // Not ours is not an error: another identity may match this stanza.
        let out = aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body)
            .ok()
            .map(|mut pt| {
                let fk = FileKey::init_with_mut(|k| k.copy_from_slice(&pt));
                pt.zeroize();
                Ok(fk)
            });
        key.zeroize();
        out
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::X25519;

    fn encrypt(to: &[&age::x25519::Recipient], text: &[u8]) -> Vec<u8> {
        let rs = to.iter().map(|r| *r as &dyn age::Recipient);
        let enc = age::Encryptor::with_recipients(rs).unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(text).unwrap();
        w.finish().unwrap();
        out
    }

    fn decrypt(id: &dyn age::Identity, ct: &[u8]) -> Option<Vec<u8>> {
        let d = age::Decryptor::new(ct).ok()?;
        let mut r = d.decrypt(std::iter::once(id)).ok()?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).ok()?;
        Some(out)
    }

    #[test]
    fn decrypts_exactly_what_age_decrypts() {
        let mine = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let fast = X25519::from_age(&mine).unwrap();
        let to_me = encrypt(&[&mine.to_public()], b"s3cret");
        let to_both = encrypt(&[&other.to_public(), &mine.to_public()], b"both");
        let to_other = encrypt(&[&other.to_public()], b"nope");
        for ct in [&to_me, &to_both, &to_other] {
            assert_eq!(decrypt(&fast, ct), decrypt(&mine, ct));
        }
        assert_eq!(decrypt(&fast, &to_me).as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(decrypt(&fast, &to_other), None);
        // A damaged stanza is refused by both.
        let mut bad = to_me.clone();
        let at = bad.iter().position(|&b| b == b'\n').unwrap() + 12;
        bad[at] ^= 0x01;
        assert_eq!(decrypt(&fast, &bad), decrypt(&mine, &bad));
        assert_eq!(decrypt(&fast, &bad), None);
    }
}
