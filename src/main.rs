//! The `saifu` binary: parses the command line and hands over to the library.

use clap::Parser;

/// mimalloc instead of the system allocator (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = saifu::cli::Cli::parse();
    match saifu::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("saifu: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
