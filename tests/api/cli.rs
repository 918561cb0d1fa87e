//! The `saifu` binary itself: migrations, production refusals and graceful shutdown.

use std::process::{Command, Stdio};

use crate::helpers::{assert_success, saifu_command};
use std::time::{Duration, Instant};

fn saifu() -> Command {
    let mut cmd = saifu_command();
    cmd.env("RUST_LOG", "info");
    cmd
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = saifu()
            .arg("migrate")
            .env("SAIFU_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert_success(&out);
    }
    assert!(dir.path().join("saifu.db").exists());
}

#[test]
fn production_refuses_unsafe_settings_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("SAIFU_ISSUER", "http://wallet.example")], "https"),
        (
            &[
                ("SAIFU_ISSUER", "https://wallet.example"),
                ("SAIFU_COOKIE_SECURE", "false"),
            ],
            "Secure",
        ),
        (
            &[("SAIFU_ISSUER", "https://wallet.example")],
            "key-encryption key",
        ),
    ];
    for (env, expected) in cases {
        let out = saifu()
            .arg("serve")
            .env("SAIFU_ENV", "production")
            .env("SAIFU_DATA_DIR", dir.path())
            .env("SAIFU_LISTEN", "127.0.0.1:0")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{env:?} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = saifu()
        .env("SAIFU_DATA_DIR", dir.path())
        .env("SAIFU_LISTEN", format!("127.0.0.1:{port}"))
        .env("SAIFU_ISSUER", format!("http://localhost:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.path().join("dev-kek.key").exists(),
        "development generates its key"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit after SIGTERM: {:?}\n{stderr}",
        out.status
    );
    assert!(stderr.contains("shutdown signal received"), "{stderr}");
    assert!(
        stderr.contains("DEVELOPMENT"),
        "development mode warns loudly: {stderr}"
    );
}

#[tokio::test]
async fn merchant_names_and_domains_with_bidi_or_invisible_characters_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let create = |name: &str, domain: &str| {
        app.cli()
            .args(["merchant", "create", "--name", name])
            .args([
                "--redirect-uri",
                crate::helpers::CALLBACK,
                "--domain",
                domain,
                "--json",
            ])
            .output()
            .unwrap()
    };
    for (name, domain, shown) in [
        ("Frame \u{202E}pohS", "frames.example", "U+202E"),
        ("Frame\u{200B}Shop", "frames.example", "U+200B"),
        ("\u{2067}Frame Shop\u{2069}", "frames.example", "U+2067"),
        ("Frame Shop\u{FEFF}", "frames.example", "U+FEFF"),
        ("Frame\u{1B}[2JShop", "frames.example", "U+001B"),
        ("Frame Shop", "frames\u{202E}.example", "U+202E"),
    ] {
        let out = create(name, domain);
        assert!(!out.status.success(), "{name:?} {domain:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(shown) && stderr.contains("not allowed"),
            "{name:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "no credentials printed");
    }
    let listed = app
        .cli()
        .args(["merchant", "list", "--json"])
        .output()
        .unwrap();
    assert_success(&listed);
    let merchants: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(merchants, serde_json::json!([]), "nothing was registered");
    assert_success(&create("Frame Shop 財布", "frames.example"));
}
