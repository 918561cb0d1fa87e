//! Where to send the shopper after a detour (sign-in, sign-up, adding a card): only a path on
//! the wallet's own origin, never another site.

/// A same-origin path such as `/oauth/authorize?client_id=…`. Anything else becomes `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnTo(String);

impl Default for ReturnTo {
    fn default() -> Self {
        Self::home()
    }
}

impl ReturnTo {
    pub fn parse(raw: Option<&str>) -> Self {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Self::home();
        };
        let safe = raw.len() <= 2048
            && raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.starts_with("/\\")
            && !raw.chars().any(|c| c.is_control() || c == '\\');
        if safe {
            Self(raw.to_string())
        } else {
            Self::home()
        }
    }

    pub fn home() -> Self {
        Self("/".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_same_origin_paths() {
        assert_eq!(ReturnTo::parse(Some("/passkeys")).as_str(), "/passkeys");
        assert_eq!(
            ReturnTo::parse(Some("/oauth/authorize?client_id=a&request_uri=b")).as_str(),
            "/oauth/authorize?client_id=a&request_uri=b"
        );
    }

    #[test]
    fn refuses_other_origins() {
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "evil",
        ] {
            assert_eq!(ReturnTo::parse(Some(bad)).as_str(), "/", "{bad}");
        }
        assert_eq!(ReturnTo::parse(None).as_str(), "/");
    }
}
