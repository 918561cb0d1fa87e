//! `saifu admin`: inviting console admins (the first one can only be invited here) and listing
//! who has access.

use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use crate::accounts::account::Email;
use crate::admin::Role;
use crate::audit::Actor;
use crate::config::Config;
use crate::http::admin::invite_url;
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Print a one-time invitation link to the console, valid for 24 hours.
    Invite {
        #[arg(long)]
        email: String,
        /// owner, operator, support or auditor.
        #[arg(long)]
        role: String,
        /// Print exactly `{"invite_url": "...", "expires_at": "RFC 3339"}`.
        #[arg(long)]
        json: bool,
    },
    /// List the console's admins and their roles.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn rfc3339(unix: i64) -> anyhow::Result<String> {
    Ok(time::OffsetDateTime::from_unix_timestamp(unix)?.format(&Rfc3339)?)
}

pub(super) async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Invite { email, role, json } => {
            let email = Email::parse(&email)
                .map_err(|e| anyhow::anyhow!("--email: {}", e.public_message()))?;
            let role = Role::parse(role.trim()).ok_or_else(|| {
                anyhow::anyhow!("--role must be owner, operator, support or auditor")
            })?;
            let state = AppState::build(config).await?;
            let invitation = state
                .admins
                .invite(&email, role, &Actor::Cli, crate::clock::unix_now())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            let url = invite_url(&state.config, &invitation.token);
            let expires_at = rfc3339(invitation.expires_at)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "invite_url": url, "expires_at": expires_at })
                );
            } else {
                println!(
                    "Invitation for {} as {role}, valid once until {expires_at}:",
                    email.as_str()
                );
                println!("{url}");
            }
        }
        AdminCommand::List { json } => {
            let state = AppState::build(config).await?;
            let admins = state
                .admins
                .list()
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            if json {
                let rows: Vec<_> = admins
                    .iter()
                    .map(|a| {
                        Ok(serde_json::json!({
                            "id": a.id, "email": a.email, "role": a.role.as_str(),
                            "created_at": rfc3339(a.created_at)?,
                        }))
                    })
                    .collect::<anyhow::Result<_>>()?;
                println!("{}", serde_json::Value::Array(rows));
            } else if admins.is_empty() {
                println!("No admins yet. Invite the first owner with `saifu admin invite --email EMAIL --role owner`.");
            } else {
                for a in admins {
                    println!("{:<9} {}  ({})", a.role.as_str(), a.email, a.id);
                }
            }
        }
    }
    Ok(())
}
