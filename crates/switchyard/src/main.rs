//! The `switchyard` binary: command line, configuration loading, logging, then the gateway.
//!
//! All gateway behaviour lives in `switchyard-gateway`; this file only wires it up.

mod logger;
mod plugins;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard_config::{Config, ConfigErrors, LogLevel, DEFAULT_CONFIG, DEFAULT_CONFIG_NAME};

/// One OpenAI-compatible endpoint in front of every model provider.
#[derive(Parser, Debug)]
#[command(name = "switchyard", version, about, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the gateway.
    Run {
        /// Configuration file (YAML). Without it the embedded default config is used.
        #[arg(long, short = 'f', value_name = "PATH")]
        config: Option<PathBuf>,
        /// Minimum log level: off, error, warn, info, debug or trace (overrides `log.level`).
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
        /// Take over the listening sockets of a running instance (graceful reload); see the
        /// README's operations section.
        #[arg(long)]
        upgrade: bool,
        /// Run in the background, writing the process id to `server.pid_file` (for systemd's
        /// `Type=forking`).
        #[arg(long)]
        daemon: bool,
    },
    /// List the plugins compiled into this binary.
    Plugins,
    /// Validate a configuration file and exit: 0 when valid, 1 with every problem listed.
    Check {
        /// Configuration file (YAML).
        #[arg(long, short = 'f', value_name = "PATH")]
        config: PathBuf,
    },
    /// Gateway keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Mint a random key: prints it once, with the `auth.keys` lines to paste (its SHA-256
    /// only: the config never holds the key).
    New {
        /// The key's name (logged and labelled in its requests' records).
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

#[allow(clippy::print_stderr, clippy::print_stdout)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Plugins => {
            for p in plugins::PLUGINS {
                println!("{:<24} {}", p.name, p.about);
            }
            ExitCode::SUCCESS
        }
        Command::Keys {
            command: KeysCommand::New { name },
        } => keys_new(&name),
        Command::Check { config } => match switchyard_config::load_file(&config) {
            Ok(c) => {
                if let Err(e) = switchyard_gateway::check(&c, plugins::PLUGINS) {
                    eprintln!("{}: {e}", config.display());
                    return ExitCode::FAILURE;
                }
                println!(
                    "{}: OK ({} providers, {} routes)",
                    config.display(),
                    c.providers.len(),
                    c.routes.len()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        },
        Command::Run {
            config,
            log_level,
            upgrade,
            daemon,
        } => {
            let loaded = match &config {
                Some(path) => switchyard_config::load_file(path),
                None => switchyard_config::load_str(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME, &|v| {
                    std::env::var(v).ok()
                }),
            };
            let config: Config = match loaded {
                Ok(c) => c,
                Err(errors) => return config_failure(&errors),
            };
            let level = match log_level.as_deref().map(LogLevel::from_name) {
                Some(Some(l)) => l,
                Some(None) => {
                    eprintln!("--log-level must be one of off, error, warn, info, debug, trace");
                    return ExitCode::from(2);
                }
                None => config.log.level,
            };
            logger::init(level, switchyard_gateway::redact::Redactor::new(&config));
            match switchyard_gateway::run(
                config,
                switchyard_gateway::RunOptions { upgrade, daemon },
                plugins::PLUGINS,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    log::error!("cannot start: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `switchyard keys new --name NAME`.
#[allow(clippy::print_stderr, clippy::print_stdout)]
fn keys_new(name: &str) -> ExitCode {
    let name = name.trim();
    if name.is_empty() {
        eprintln!("--name must not be empty");
        return ExitCode::from(2);
    }
    let minted = match switchyard_config::keys::mint() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot mint a key: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A JSON string is a YAML scalar: any name pastes safely.
    let quoted = serde_json::Value::from(name).to_string();
    println!("# The key for {quoted}. It is shown only now: hand it over, then forget it.");
    println!("{}", minted.key.expose());
    println!();
    println!("# Add to `auth.keys` (or to the list in `auth.keys_file`):");
    println!("  - name: {quoted}");
    println!("    key_sha256: {}", minted.digest.to_hex());
    ExitCode::SUCCESS
}

#[allow(clippy::print_stderr)]
fn config_failure(errors: &ConfigErrors) -> ExitCode {
    eprintln!("invalid configuration:\n{errors}");
    ExitCode::FAILURE
}
