//! `saifu registration`: whether shops may register themselves (RFC 7591), shown and switched
//! from the command line; a switch is audited with the actor `cli` and seen by every node.

use clap::Subcommand;

use crate::audit::Actor;
use crate::config::Config;
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum RegistrationCommand {
    /// Print whether registration is open.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Open registration: shops may register themselves at /oauth/register.
    Enable {
        #[arg(long)]
        json: bool,
    },
    /// Close registration: /oauth/register answers 403 and the metadata stops advertising it.
    Disable {
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn registration(
    config: Config,
    command: RegistrationCommand,
) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let registrations = &state.registrations;
    let refused = |e: crate::error::Error| anyhow::anyhow!("{}: {}", e.code(), e.public_message());
    let now = crate::clock::unix_now();
    let json = match command {
        RegistrationCommand::Show { json } => json,
        RegistrationCommand::Enable { json } | RegistrationCommand::Disable { json } => {
            let open = matches!(command, RegistrationCommand::Enable { .. });
            registrations
                .set_open(open, &Actor::Cli, now)
                .await
                .map_err(refused)?;
            json
        }
    };
    let open = registrations.is_open().await.map_err(refused)?;
    if json {
        println!("{}", serde_json::json!({ "open": open }));
    } else if open {
        println!("Registration is open: shops may register themselves at /oauth/register.");
    } else {
        println!("Registration is closed: /oauth/register answers 403 registration_disabled.");
    }
    Ok(())
}
