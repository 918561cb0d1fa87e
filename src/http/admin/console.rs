//! The admin's console session and the layout every console page shares. The session is
//! its own (another cookie, another idle and absolute lifetime than the shopper's) and holds
//! only the admin's id, the time of sign-in, the CSRF token and running ceremony ids.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use tower_sessions::Session;
use uuid::Uuid;

use crate::admin::{Admin, Admins, Permission};
use crate::clock::{random_token, unix_now};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::assets::asset;
use crate::http::session::csrf_token;

const ADMIN_ID: &str = "admin_id";
const AUTH_AT: &str = "admin_auth_at";
const CSRF: &str = "csrf";

/// Signs the admin in: a new session id, a new CSRF token, the time of sign-in.
pub(super) async fn establish(session: &Session, admin: &Admin) -> Result<()> {
    session.cycle_id().await?;
    session.insert(ADMIN_ID, admin.id).await?;
    session.insert(AUTH_AT, unix_now()).await?;
    session.insert(CSRF, random_token()?).await?;
    Ok(())
}

/// The signed-in admin, if any. A session past its absolute lifetime, or of an admin who was
/// removed, is ended here.
pub(super) async fn current_admin(
    session: &Session,
    admins: &Admins,
    absolute_secs: i64,
) -> Result<Option<Admin>> {
    let Some(admin_id) = session.get::<Uuid>(ADMIN_ID).await? else {
        return Ok(None);
    };
    let auth_at = session.get::<i64>(AUTH_AT).await?.unwrap_or(0);
    if unix_now() - auth_at >= absolute_secs {
        session.flush().await?;
        return Ok(None);
    }
    match admins.admin(admin_id).await? {
        Some(admin) => Ok(Some(admin)),
        None => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// A console request by a signed-in admin, with the session's CSRF token for its forms.
/// Without an admin session the request is refused with 401, which browsers see as a redirect
/// to the console's sign-in page.
pub struct Console {
    pub admin: Admin,
    pub csrf: String,
}

impl Console {
    /// Refuses with 403 `role_forbidden` unless the admin's role allows `what`.
    pub fn require(&self, what: Permission) -> Result<()> {
        self.admin.require(what)
    }

    pub fn layout(&self, title: impl Into<String>) -> AdminLayout {
        AdminLayout::new(title, self.csrf.clone(), Some(&self.admin))
    }
}

impl<S> FromRequestParts<S> for Console
where
    Admins: FromRef<S>,
    Arc<Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| Error::internal(anyhow::anyhow!("session layer missing: {msg}")))?;
        let absolute = Arc::<Config>::from_ref(state).admin_session_absolute_secs as i64;
        let admin = current_admin(&session, &Admins::from_ref(state), absolute)
            .await?
            .ok_or_else(Error::unauthenticated)?;
        Ok(Console {
            csrf: csrf_token(&session).await?,
            admin,
        })
    }
}

/// The signed-in admin as the header shows them, and which sections their role can open.
pub struct AdminView {
    pub email: String,
    pub role: String,
    pub shoppers: bool,
    pub admins: bool,
}

pub struct AdminLayout {
    pub title: String,
    pub csrf: String,
    pub admin: Option<AdminView>,
    pub css_href: String,
    pub css_integrity: String,
    pub js_href: String,
    pub js_integrity: String,
}

impl AdminLayout {
    pub fn new(title: impl Into<String>, csrf: String, admin: Option<&Admin>) -> Self {
        let css = asset("saifu.css");
        let js = asset("saifu.js");
        Self {
            title: title.into(),
            csrf,
            admin: admin.map(|a| AdminView {
                email: a.email.clone(),
                role: a.role.as_str().to_string(),
                shoppers: a.role.may(Permission::ReadShoppers),
                admins: a.role.may(Permission::ReadAdmins),
            }),
            css_href: css.href.clone(),
            css_integrity: css.integrity.clone(),
            js_href: js.href.clone(),
            js_integrity: js.integrity.clone(),
        }
    }
}

/// Where to go after signing in: a console path, else the dashboard.
pub(super) fn console_path(raw: Option<&str>) -> String {
    match raw.map(str::trim) {
        Some(p)
            if p.len() <= 2048
                && (p == "/admin" || p.starts_with("/admin/") || p.starts_with("/admin?"))
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/admin".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::console_path;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(
            console_path(Some("/admin/merchants?q=x")),
            "/admin/merchants?q=x"
        );
        assert_eq!(console_path(Some("/admin")), "/admin");
        for other in [
            "/",
            "//evil.example/admin",
            "https://evil.example/admin",
            "/administrator",
            "/admin/\\x",
            "",
        ] {
            assert_eq!(console_path(Some(other)), "/admin", "{other}");
        }
        assert_eq!(console_path(None), "/admin");
    }
}
