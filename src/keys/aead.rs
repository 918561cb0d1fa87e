//! Envelope encryption's building blocks: AES-256-GCM sealing with a random nonce, and the
//! data keys (random per record) that a key-encryption key wraps.

use anyhow::bail;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretBox};

/// A random 256-bit key that encrypts one card number.
pub struct DataKey(SecretBox<[u8; 32]>);

impl DataKey {
    pub fn generate() -> anyhow::Result<Self> {
        Ok(Self(SecretBox::new(Box::new(random_32()?))))
    }

    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    pub(super) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// A data key encrypted under one KEK version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub version: u32,
    pub bytes: Vec<u8>,
}

/// AES-256-GCM with a random nonce; the output is nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &LessSafeKey, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    let mut buffer = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buffer,
    )
    .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.append(&mut buffer);
    Ok(out)
}

/// Opens what `seal` produced. Fails on a wrong key, wrong associated data or any change.
pub fn open(
    key: &LessSafeKey,
    sealed: &[u8],
    aad: &[u8],
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        bail!("ciphertext too short");
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    let mut buffer = zeroize::Zeroizing::new(body.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| anyhow::anyhow!("decryption failed"))?
        .len();
    buffer.truncate(plain_len);
    Ok(buffer)
}

pub fn aes_key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte AES-256 key"))
}

pub(super) fn random_32() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    Ok(bytes)
}
