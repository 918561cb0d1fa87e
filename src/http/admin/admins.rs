//! The console's Admins section: who has access with which role, open invitations, and (for
//! owners) inviting, changing roles and removing admins. An invitation link is shown once.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::console::{AdminLayout, Console};
use crate::accounts::account::Email;
use crate::admin::{Admins, Permission, Role, ROLES};
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::pages::{format_time, render};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admins", get(list))
        .route("/admin/admins/invite", post(invite))
        .route("/admin/admins/{id}/role", post(change_role))
        .route("/admin/admins/{id}/remove", post(remove))
}

struct AdminRow {
    id: String,
    email: String,
    role: String,
    since: String,
    is_you: bool,
}

struct InviteRow {
    email: String,
    role: String,
    invited_by: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct AdminsPage {
    layout: AdminLayout,
    admins: Vec<AdminRow>,
    invites: Vec<InviteRow>,
    roles: Vec<&'static str>,
    can_manage: bool,
}

#[derive(Template)]
#[template(path = "admin/invite_created.html")]
struct InviteCreatedPage {
    layout: AdminLayout,
    email: String,
    role: String,
    url: String,
    expires: String,
}

/// The link an invitee opens: the token rides in the query, which the request log never shows.
pub fn invite_url(config: &Config, token: &str) -> String {
    format!("{}/admin/invite?token={token}", config.origin())
}

fn parse_role(raw: &str) -> Result<Role> {
    Role::parse(raw.trim()).ok_or_else(|| {
        Error::invalid(
            "invalid_role",
            "Choose a role: owner, operator, support or auditor.",
        )
        .on_field("role")
    })
}

fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found())
}

async fn list(State(admins): State<Admins>, console: Console) -> Result<Response> {
    console.require(Permission::ReadAdmins)?;
    let now = unix_now();
    let rows = admins
        .list()
        .await?
        .into_iter()
        .map(|a| AdminRow {
            is_you: a.id == console.admin.id,
            id: a.id.to_string(),
            email: a.email,
            role: a.role.as_str().to_string(),
            since: format_time(a.created_at),
        })
        .collect();
    let invites = admins
        .pending_invites(now)
        .await?
        .into_iter()
        .map(|i| InviteRow {
            email: i.email,
            role: i.role.as_str().to_string(),
            invited_by: i.invited_by,
            expires: format_time(i.expires_at),
        })
        .collect();
    render(&AdminsPage {
        layout: console.layout("Admins"),
        admins: rows,
        invites,
        roles: ROLES.iter().map(|r| r.as_str()).collect(),
        can_manage: console.admin.role.may(Permission::ManageAdmins),
    })
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(admins): State<Admins>,
    State(config): State<Arc<Config>>,
    console: Console,
    Form(form): Form<InviteForm>,
) -> Result<Response> {
    console.require(Permission::ManageAdmins)?;
    let email = Email::parse(&form.email)?;
    let role = parse_role(&form.role)?;
    let invitation = admins
        .invite(&email, role, &console.admin.actor(), unix_now())
        .await?;
    render(&InviteCreatedPage {
        layout: console.layout("Invitation created"),
        email: email.as_str().to_string(),
        role: role.as_str().to_string(),
        url: invite_url(&config, &invitation.token),
        expires: format_time(invitation.expires_at),
    })
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn change_role(
    State(admins): State<Admins>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageAdmins)?;
    let role = parse_role(&form.role)?;
    admins
        .change_role(parse_id(&id)?, role, &console.admin.actor(), unix_now())
        .await?;
    Ok(Redirect::to("/admin/admins"))
}

async fn remove(
    State(admins): State<Admins>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Redirect> {
    console.require(Permission::ManageAdmins)?;
    admins
        .remove(parse_id(&id)?, &console.admin.actor(), unix_now())
        .await?;
    Ok(Redirect::to("/admin/admins"))
}
