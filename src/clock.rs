//! Time and randomness the whole wallet shares: the current instant as Unix seconds (how every
//! instant is stored, on both backends) and random tokens for ids, CSRF and ceremonies.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Seconds since the Unix epoch: the wallet stores every instant this way, on both backends.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch: webhook schedules and leases count in these.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// 256 random bits, base64url: ceremony ids, CSRF tokens.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::internal(anyhow::anyhow!("system randomness unavailable")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
