//! Recovery codes: ten letters and digits from an alphabet without look-alikes, shown in two
//! groups (`abcde-23456`), read back in any letter case with or without spaces and dashes, and
//! kept only as Argon2id hashes.
//!
//! The codes of one set share a salt, so that checking a typed code costs one slow hash
//! whatever the number of codes left (the hash is then compared with each stored one). About
//! 49 bits of randomness per code keep the set safe behind that hash even so.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};
use crate::secrets::constant_time_eq;

/// Codes in a set.
pub const SET_SIZE: usize = 10;

/// Characters of a code.
const LENGTH: usize = 10;

/// Lower-case letters and digits, without 0, 1, i, l, o and u (read as one another).
const ALPHABET: &[u8; 30] = b"23456789abcdefghjkmnpqrstvwxyz";

/// Argon2id with OWASP's parameters for stored login secrets: 19 MiB, two passes, one lane.
/// About 20 ms on a server core: one per sign-in attempt, ten when a set is made.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A code as the shopper types it, normalised: ten characters of the alphabet.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

// Deliberately shows nothing: a code is a secret.
impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(…)")
    }
}

impl RecoveryCode {
    /// Reads a typed code: letter case, spaces and dashes do not matter.
    pub fn parse(raw: &str) -> Result<Self> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '‐' | '–' | '—'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if s.len() != LENGTH || !s.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(Error::invalid(
                "invalid_recovery_code",
                "A recovery code has ten letters and digits, like abcde-23456.",
            )
            .on_field("code"));
        }
        Ok(Self(s))
    }

    /// A new random code.
    fn generate(rng: &SystemRandom) -> Result<Self> {
        let mut code = String::with_capacity(LENGTH);
        let mut byte = [0u8; 1];
        while code.len() < LENGTH {
            rng.fill(&mut byte).map_err(|_| unavailable())?;
            // 240 is the largest multiple of 30 in a byte: no character is likelier.
            if usize::from(byte[0]) < 240 {
                code.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
            }
        }
        Ok(Self(code))
    }

    /// As the shopper is shown it: `abcde-23456`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..LENGTH / 2], &self.0[LENGTH / 2..])
    }
}

fn unavailable() -> Error {
    Error::internal(anyhow::anyhow!("system randomness unavailable"))
}

fn hash_error(err: argon2::password_hash::Error) -> Error {
    Error::internal(anyhow::anyhow!("recovery code hash: {err}"))
}

/// A new set: the codes to show once, and their hashes to keep.
pub struct NewSet {
    pub codes: Vec<RecoveryCode>,
    pub hashes: Vec<String>,
}

/// Makes a set of [`SET_SIZE`] codes under one fresh salt (slow: run it off the async threads).
pub fn new_set() -> Result<NewSet> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| unavailable())?;
    let salt = SaltString::encode_b64(&salt).map_err(hash_error)?;
    let argon = hasher();
    let mut codes = Vec::with_capacity(SET_SIZE);
    let mut hashes = Vec::with_capacity(SET_SIZE);
    while codes.len() < SET_SIZE {
        let code = RecoveryCode::generate(&rng)?;
        if codes.contains(&code) {
            continue;
        }
        let hash = argon
            .hash_password(code.0.as_bytes(), &salt)
            .map_err(hash_error)?;
        hashes.push(hash.to_string());
        codes.push(code);
    }
    Ok(NewSet { codes, hashes })
}

/// Which of `stored` (PHC strings) `code` is, if any: one slow hash per salt among them
/// (normally one). With nothing stored, a hash is still made, so that an unknown account
/// takes as long to refuse as a wrong code (slow: run it off the async threads).
pub fn matching(code: &RecoveryCode, stored: &[String]) -> Result<Option<usize>> {
    let mut found = None;
    let mut done: Vec<String> = Vec::new();
    for phc in stored {
        let parsed = PasswordHash::new(phc).map_err(hash_error)?;
        let Some(salt) = parsed.salt else { continue };
        if done.iter().any(|s| s == salt.as_str()) {
            continue;
        }
        done.push(salt.as_str().to_string());
        let candidate = hasher()
            .hash_password(code.0.as_bytes(), salt)
            .map_err(hash_error)?
            .to_string();
        for (i, other) in stored.iter().enumerate() {
            if constant_time_eq(candidate.as_bytes(), other.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
    }
    if done.is_empty() {
        let salt = SaltString::encode_b64(&[0u8; 16]).map_err(hash_error)?;
        hasher()
            .hash_password(code.0.as_bytes(), &salt)
            .map_err(hash_error)?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_any_case_with_spaces_and_dashes() {
        let code = RecoveryCode::parse("abcde-23456").unwrap();
        for typed in [
            "ABCDE-23456",
            " abcde 23456 ",
            "abcde23456",
            "Ab Cd E-2345-6",
        ] {
            assert_eq!(RecoveryCode::parse(typed).unwrap(), code, "{typed}");
        }
        assert_eq!(code.display(), "abcde-23456");
    }

    #[test]
    fn malformed_codes_are_refused_on_the_code_field() {
        for bad in [
            "",
            "abcde-2345",
            "abcde-234567",
            "abcd0-23456",
            "abcdi-23456",
            "abcde_23456",
        ] {
            let err = RecoveryCode::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_recovery_code", "{bad}");
            assert_eq!(err.field(), Some("code"));
        }
    }

    #[test]
    fn a_set_holds_ten_distinct_codes_whose_hashes_match_only_themselves() {
        let set = new_set().unwrap();
        assert_eq!(set.codes.len(), SET_SIZE);
        assert_eq!(set.hashes.len(), SET_SIZE);
        for (i, code) in set.codes.iter().enumerate() {
            assert!(set.hashes[i].starts_with("$argon2id$"));
            assert!(!set.hashes[i].contains(&code.0));
            assert_eq!(RecoveryCode::parse(&code.display()).unwrap(), code.clone());
        }
        assert_eq!(matching(&set.codes[3], &set.hashes).unwrap(), Some(3));
        let other = new_set().unwrap();
        assert_eq!(matching(&other.codes[0], &set.hashes).unwrap(), None);
        assert_eq!(matching(&set.codes[0], &[]).unwrap(), None);
    }
}
