//! `vroom`: the native command-line client.
//!
//! `vroom create --server URL` creates a room and prints its invite link as the first
//! line of stdout (`--app URL`: a link that opens the web app hosted there, apart from
//! the relay); `vroom join LINK` joins one, at the relay the link's web app names.
//! With `--name NAME --passphrase-file F` (or the passphrase in `VROOM_PASSPHRASE`)
//! both find the room by a name and passphrase people agreed on instead. Both then chat: every stdin line is a
//! message, every event is one stdout line. All cryptography is `vroom_shared::session`'s;
//! this binary only moves frames between it, the relay's WebSocket and the terminal.
//!
//! # Layout
//! - `main.rs`: flags.
//! - `app`: which relay an invite link leads to (the one its web app's page names).
//! - `http`: the small HTTP client that reads those pages and the app's files.
//! - `chat`: the loop between stdin, the socket and the session, with reconnects.
//! - `files`: `/send`, `--download-dir` and the transfers both ways.
//! - `input`: what a typed line means.
//! - `render`: how each session event is printed.
//! - `ways`: the room name + passphrase way in.
//! - `verify`: `vroom verify-app`, which compares the web app a server serves with a
//!   reproducible build.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vroom_shared::invite::Invite;
use vroom_shared::session::Session;
use vroom_shared::wire::RoomSettings;

mod app;
mod chat;
mod code;
mod files;
mod http;
mod input;
mod render;
mod verify;
mod ways;

/// End-to-end-encrypted, ephemeral chat rooms from the command line.
#[derive(Parser)]
#[command(name = "vroom", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where files other members send are saved (an existing file is never
    /// overwritten: a new name is picked).
    #[arg(long, global = true, env = "VROOM_DOWNLOAD_DIR", default_value = ".")]
    download_dir: PathBuf,
    /// Save every file offered without asking (else each waits for /accept).
    #[arg(long, global = true, env = "VROOM_ACCEPT_FILES")]
    accept_files: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Create a room on a relay, print its invite link (first line of stdout), then chat.
    Create {
        /// The relay, e.g. http://127.0.0.1:8080 or https://vroom.example.
        #[arg(long, env = "VROOM_SERVER")]
        server: String,
        /// The web app the invite links should open, when it is hosted apart from the
        /// relay (e.g. https://app.example, whose page names this relay); by default the
        /// relay's own.
        #[arg(long, value_name = "URL")]
        app: Option<String>,
        /// Your nickname in the room.
        #[arg(long)]
        nick: Option<String>,
        /// Most members at once (the relay may cap it lower).
        #[arg(long)]
        max_members: Option<u32>,
        /// Delete the room after this long without a message, e.g. 10m (capped by the relay).
        #[arg(long, value_parser = humantime::parse_duration)]
        idle_timeout: Option<Duration>,
        /// Delete the room this long after creation, e.g. 2h (capped by the relay).
        #[arg(long, value_parser = humantime::parse_duration)]
        max_lifetime: Option<Duration>,
        #[command(flatten)]
        by_name: ByName,
        /// Create the room by name even with a passphrase the strength check finds weak
        /// (a relay could guess it and read the room).
        #[arg(long, requires = "name")]
        weak_passphrase_ok: bool,
        /// Also print a short code (like 7-amber-river) someone can join with; it
        /// expires after a few minutes (make another with /code).
        #[arg(long, conflicts_with = "name")]
        code: bool,
    },
    /// Join a room from its invite link (quote it: it contains '#'), or by its name and
    /// passphrase (--server, --name, --passphrase-file), then chat. A link to a web app
    /// hosted apart from the relay leads to the relay its page names.
    Join {
        /// The invite link, e.g. 'https://vroom.example/r#...'.
        #[arg(required_unless_present_any = ["name", "code"], conflicts_with_all = ["name", "code"])]
        link: Option<String>,
        /// A short code someone in the room gave you, e.g. 7-amber-river (with --server).
        #[arg(long, conflicts_with = "name", requires = "server")]
        code: Option<String>,
        /// The relay of a room joined by name, e.g. https://vroom.example.
        #[arg(long, env = "VROOM_SERVER")]
        server: Option<String>,
        /// With --code or --name: the web app the room's invite links (/invite) should
        /// open, when it is hosted apart from the relay, e.g. https://app.example.
        #[arg(long, conflicts_with = "link", value_name = "URL")]
        app: Option<String>,
        /// Your nickname in the room.
        #[arg(long)]
        nick: Option<String>,
        #[command(flatten)]
        by_name: ByName,
    },
    /// Check that the web app a server serves is, byte for byte, a build you trust
    /// (a reproducible build of the published sources, or its BUILD manifest); every
    /// file is listed as matching or differing. Exit 0 when all match, 1 when any
    /// differs, 2 when the check could not be made (or took longer than --timeout).
    ///
    /// Files are fetched with the headers a current Chromium sends, in every encoding a
    /// browser asks for. That only raises the bar: a host can still tell this check
    /// from a browser by its TLS handshake, its timing, its address, its connections,
    /// `Sec-Fetch-Site` (a link opened from another site says `cross-site`), the
    /// cookies and conditional requests a browser that has been there before sends, or
    /// another browser's headers, and serve it the honest app while browsers get
    /// another. Run it from where the app's users are. A redirected file, or a content
    /// coding a browser would not decode, is a difference. --server and --app take a
    /// host's address without a path.
    VerifyApp(verify::VerifyArgs),
}

/// A room found by a name and passphrase that people agreed on. The same name with
/// another passphrase is another room.
#[derive(clap::Args)]
struct ByName {
    /// The room's name (case and extra spaces do not matter).
    #[arg(long)]
    name: Option<String>,
    /// A file holding the room's passphrase (without it, the passphrase is read from
    /// the VROOM_PASSPHRASE environment variable; it is never a plain argument).
    #[arg(long, requires = "name", value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // rustls needs one process-wide crypto provider for wss:// relays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("vroom: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let downloads = files::Downloads {
        dir: cli.download_dir,
        accept_all: cli.accept_files,
    };
    let result = match cli.command {
        Command::VerifyApp(args) => {
            let code = runtime.block_on(verify::command(args));
            runtime.shutdown_background();
            return code;
        }
        command => runtime.block_on(run(command, downloads)),
    };
    // Tokio reads stdin on a blocking thread, and dropping the runtime waits for that
    // read: without this, the process would hang after the room ended until the user
    // pressed Enter (or forever, for a script that keeps stdin open).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vroom: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, downloads: files::Downloads) -> Result<(), chat::ChatError> {
    match command {
        Command::VerifyApp(_) => unreachable!("main runs verify-app itself"),
        Command::Create {
            server,
            app,
            nick,
            max_members,
            idle_timeout,
            max_lifetime,
            by_name,
            weak_passphrase_ok,
            code,
        } => {
            let origin = chat::normalize_origin(&server)?;
            let place = app::place_with_app(origin.clone(), app.as_deref()).await?;
            let settings = RoomSettings {
                max_members,
                idle_timeout_secs: idle_timeout.map(secs),
                max_lifetime_secs: max_lifetime.map(secs),
            };
            let nick = nick.unwrap_or_else(default_nick);
            match by_name.name {
                Some(name) => {
                    let passphrase = ways::new_passphrase(
                        by_name.passphrase_file.as_deref(),
                        &name,
                        weak_passphrase_ok,
                    )?;
                    let secret = ways::secret(&origin, &name, &passphrase)?;
                    let (session, first) = Session::create_in(secret, &nick, settings);
                    let result = chat::run(session, first, place, downloads, false).await;
                    result.map_err(|err| ways::explain(err, true))
                }
                None => {
                    let (session, first) = Session::create(&nick, settings);
                    chat::run(session, first, place, downloads, code).await
                }
            }
        }
        Command::Join {
            link,
            server,
            app,
            nick,
            by_name,
            code,
        } => {
            let nick = nick.unwrap_or_else(default_nick);
            if let (Some(code), Some(server)) = (code, &server) {
                let origin = chat::normalize_origin(server)?;
                let place = app::place_with_app(origin.clone(), app.as_deref()).await?;
                let (secret, pass) = code::secret(&origin, &code).await?;
                let (session, first) = Session::join_with_pass(secret, pass, &nick);
                return chat::run(session, first, place, downloads, false).await;
            }
            match (link, by_name.name) {
                (Some(link), _) => {
                    let invite = Invite::parse(link.trim()).map_err(chat::ChatError::Invite)?;
                    let (place, unread) = app::place_of_link(&invite, &link).await?;
                    let (session, first) = Session::join(&invite, &nick);
                    let result = chat::run(session, first, place, downloads, false).await;
                    app::Unread::explain(unread, result)
                }
                (None, Some(name)) => {
                    let server = server.ok_or_else(|| {
                        chat::ChatError::Ways(
                            "joining by name needs the relay: give --server URL.".to_owned(),
                        )
                    })?;
                    let origin = chat::normalize_origin(&server)?;
                    let place = app::place_with_app(origin.clone(), app.as_deref()).await?;
                    let passphrase = ways::passphrase(by_name.passphrase_file.as_deref())?;
                    let secret = ways::secret(&origin, &name, &passphrase)?;
                    let (session, first) = Session::join_with(secret, &nick);
                    let result = chat::run(session, first, place, downloads, false).await;
                    result.map_err(|err| ways::explain(err, false))
                }
                (None, None) => Err(chat::ChatError::Ways(
                    "give an invite link, or --server, --name and --passphrase-file.".to_owned(),
                )),
            }
        }
    }
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// A friendly nickname for someone who did not pick one.
fn default_nick() -> String {
    const ANIMALS: [&str; 12] = [
        "otter", "heron", "lynx", "panda", "koala", "gecko", "puffin", "badger", "marten", "ibis",
        "wombat", "tapir",
    ];
    let n: u32 = rand::random();
    format!("{}-{}", ANIMALS[n as usize % ANIMALS.len()], n % 100)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_flags_hold_together() {
        Cli::command().debug_assert();
        let parsed = Cli::try_parse_from([
            "vroom",
            "create",
            "--server",
            "https://relay.example",
            "--app",
            "https://app.example",
        ])
        .expect("create takes --app");
        assert!(
            matches!(parsed.command, Command::Create { app: Some(ref a), .. } if a == "https://app.example")
        );
        // A link brings its own app: --app is for rooms joined by code or name.
        assert!(Cli::try_parse_from([
            "vroom",
            "join",
            "https://app.example/r#x",
            "--app",
            "https://app.example"
        ])
        .is_err());
    }
}
