//! Key loading, wrapping, rotation and fingerprints.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};
use secrecy::SecretString;

use super::file::{parse_keyring, DEV_MARKER};
use super::*;

fn dev_config(dir: &Path) -> KeySettings {
    KeySettings {
        development: true,
        data_dir: dir.to_path_buf(),
        ..KeySettings::default()
    }
}

#[tokio::test]
async fn wrap_and_unwrap_round_trip_and_bind_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let ring = LocalKeyring::load(&dev_config(dir.path())).unwrap();
    assert!(ring.generated_for_development);
    let dk = DataKey::generate().unwrap();
    let wrapped = ring.wrap(&dk, b"card-a").await.unwrap();
    assert_eq!(wrapped.version, 1);
    assert_eq!(
        ring.unwrap(&wrapped, b"card-a").await.unwrap().expose(),
        dk.expose()
    );
    assert!(
        ring.unwrap(&wrapped, b"card-b").await.is_err(),
        "moved to another record"
    );
    let mut tampered = wrapped.clone();
    tampered.bytes[20] ^= 1;
    assert!(ring.unwrap(&tampered, b"card-a").await.is_err(), "altered");
    assert!(!format!("{dk:?}").contains(&STANDARD.encode(dk.expose())));
}

#[tokio::test]
async fn a_different_key_cannot_unwrap() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ring_a = LocalKeyring::load(&dev_config(a.path())).unwrap();
    let ring_b = LocalKeyring::load(&dev_config(b.path())).unwrap();
    let wrapped = ring_a
        .wrap(&DataKey::generate().unwrap(), b"c")
        .await
        .unwrap();
    assert!(ring_b.unwrap(&wrapped, b"c").await.is_err());
}

#[tokio::test]
async fn rotation_adds_a_version_that_running_keyrings_pick_up_and_retirement_stops_decryption() {
    let dir = tempfile::tempdir().unwrap();
    let ring = LocalKeyring::load(&dev_config(dir.path())).unwrap();
    let path = dir.path().join(DEV_KEK_FILE);
    let dk = DataKey::generate().unwrap();
    let old = ring.wrap(&dk, b"c").await.unwrap();

    // Another process (the CLI) rotates the file; mtime granularity needs a moment.
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(add_version_to_file(&path).unwrap(), 2);
    assert_eq!(ring.active_version().await.unwrap(), 2);
    let new = ring.wrap(&dk, b"c").await.unwrap();
    assert_eq!(new.version, 2);
    assert_eq!(ring.unwrap(&old, b"c").await.unwrap().expose(), dk.expose());

    assert!(
        retire_version_in_file(&path, 2).is_err(),
        "the active version can't be retired"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    retire_version_in_file(&path, 1).unwrap();
    let err = ring.unwrap(&old, b"c").await.unwrap_err();
    assert!(err.to_string().contains("retired"), "{err}");
    assert_eq!(ring.unwrap(&new, b"c").await.unwrap().expose(), dk.expose());
    assert_eq!(ring.versions(), vec![(1, true), (2, false)]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("v1 retired") && text.contains(DEV_MARKER),
        "{text}"
    );
}

#[test]
fn keyring_text_forms() {
    let k1 = STANDARD.encode([1u8; 32]);
    let k2 = STANDARD.encode([2u8; 32]);
    assert_eq!(parse_keyring(&k1).unwrap().versions.len(), 1);
    let both = parse_keyring(&format!("v1:{k1},v2:{k2}")).unwrap();
    assert_eq!(
        both.versions.keys().copied().collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(!both.development);
    assert!(
        parse_keyring(&format!("v1 {k1}\nv1 {k2}")).is_err(),
        "duplicate version"
    );
    assert!(parse_keyring("v1 c2hvcnQ=").is_err(), "short key");
    assert!(parse_keyring("# only a comment").is_err());
    // A plain key file (as `head -c 32 /dev/urandom | base64` makes) is version 1.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek.key");
    std::fs::write(&path, format!("{k1}\n")).unwrap();
    assert_eq!(add_version_to_file(&path).unwrap(), 2);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&format!("v1 {k1}\n")), "{text}");
}

#[test]
fn production_refuses_generated_and_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    LocalKeyring::load(&dev_config(dir.path())).unwrap();
    FingerprintKey::load(&dev_config(dir.path())).unwrap();
    let mut prod = dev_config(dir.path());
    prod.development = false;
    assert!(LocalKeyring::load(&prod).is_err(), "missing");
    prod.kek_file = Some(dir.path().join(DEV_KEK_FILE));
    let err = LocalKeyring::load(&prod).unwrap_err();
    assert!(err.to_string().contains("development key"), "{err}");
    prod.fingerprint_key_file = Some(dir.path().join(DEV_FINGERPRINT_FILE));
    assert!(FingerprintKey::load(&prod).is_err());
    prod.kek = Some(SecretString::from(STANDARD.encode([7u8; 32])));
    prod.fingerprint_key = Some(SecretString::from(STANDARD.encode([8u8; 32])));
    assert!(LocalKeyring::load(&prod).is_ok());
    assert!(FingerprintKey::load(&prod).is_ok());
}

#[test]
fn fingerprints_are_per_owner_and_keyed() {
    let k = FingerprintKey::from_bytes(&[3u8; 32]);
    let other = FingerprintKey::from_bytes(&[4u8; 32]);
    let n = "4242424242424242";
    assert_eq!(k.fingerprint("u1", n), k.fingerprint("u1", n));
    assert_ne!(k.fingerprint("u1", n), k.fingerprint("u2", n));
    assert_ne!(k.fingerprint("u1", n), other.fingerprint("u1", n));
    assert_eq!(k.fingerprint("u1", n).len(), 64);
}

#[test]
fn key_settings_never_show_a_key_value() {
    let kek = STANDARD.encode([7u8; 32]);
    let fingerprint = STANDARD.encode([9u8; 32]);
    let settings = KeySettings {
        kek: Some(SecretString::from(format!("v1:{kek}"))),
        fingerprint_key: Some(SecretString::from(fingerprint.clone())),
        ..KeySettings::default()
    };
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains(&kek) && !shown.contains(&fingerprint),
        "{shown}"
    );
    assert!(shown.contains("REDACTED"), "{shown}");
}
