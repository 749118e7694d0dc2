//! `porchlight-server`: parses arguments, sets up logging, binds and serves.

use clap::Parser;
use porchlight_protocol::AdminToken;
use porchlight_server::desk::Desk;
use porchlight_server::store::database::Target;
use porchlight_server::{Options, ServerConfig, Shared, serve};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::net::TcpListener;

/// Porchlight's chat server: serves the demo page, the loader, the widget and the
/// chat API.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Site, bot and routing configuration (TOML). Without it the built-in demo config is used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The built widget (Trunk's output folder), served under /widget/.
    #[arg(long, default_value = "dist")]
    widget_dir: PathBuf,
    /// The built agent console, served under /console/.
    #[arg(long, default_value = "console/dist")]
    console_dir: PathBuf,
    /// The secret that opens the agent console and the control API (letters, digits, - and
    /// _, at most 64). Random at each start when not given.
    #[arg(long, value_parser = |s: &str| AdminToken::new(s))]
    admin_token: Option<AdminToken>,
    /// A name the server is reached by (e.g. chat.example or chat.example:8443), besides
    /// its listen address and localhost; requests to the agent side naming any other Host
    /// are refused. Repeatable.
    #[arg(long = "public-host")]
    public_hosts: Vec<String>,
    /// Where sessions, conversations, ratings and left messages are kept across restarts:
    /// an SQLite file (created if missing, with its folders; one server process), or
    /// `postgres://USER@HOST:PORT/DB`, a PostgreSQL database.
    #[arg(long, default_value = "porchlight.sqlite3")]
    db: Target,
    /// Keep everything in memory only: a restart forgets every conversation.
    #[arg(long, conflicts_with = "db")]
    memory: bool,
    /// Run the simulation — simulated agents and customers, the movable wall clock — with
    /// whatever configuration is used, to rehearse a site. `cargo xtask demo` passes it.
    #[arg(long)]
    demo: bool,
    /// Lift the per-address limits (sockets at once, new sessions a minute), for load runs
    /// from one machine such as `cargo xtask bench`. Never on a public address.
    #[arg(long)]
    no_client_limits: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "porchlight_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match ServerConfig::load(path) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        },
        None => ServerConfig::default(),
    };
    if args.demo {
        config.simulation.enabled = true;
    }
    if !config.simulation.enabled && config.has_simulated_actors() {
        tracing::warn!(
            "the configuration scripts simulated agents or customers, which stay idle: the simulation is off (turn it on with [simulation] enabled = true or --demo)"
        );
    }
    if let Err(err) = porchlight_server::locales::built_in() {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    if !args.widget_dir.join("index.html").is_file() {
        tracing::warn!(
            "no built widget in {}; run `cargo xtask demo` to build and serve it",
            args.widget_dir.display()
        );
    }
    let listener = match TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let desk = if args.memory {
        Desk::new(config)
    } else {
        match Desk::open_at(config, &args.db) {
            Ok(desk) => desk,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        }
    };
    let state = Shared::with(
        desk,
        Options {
            widget_dir: args.widget_dir,
            console_dir: args.console_dir,
            admin_token: args.admin_token,
            public_hosts: args.public_hosts,
            client_limits: !args.no_client_limits,
        },
    );
    let addr = listener.local_addr().unwrap_or(args.addr);
    println!(
        "{}",
        porchlight_server::process::announcement(addr, state.admin.token())
    );
    if let Err(err) = serve(listener, state, shutdown_signal()).await {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
