//! `porchlight-at-rest`: the server's memory at rest on databases of 0 and of many ended
//! conversations (see [`porchlight_bench::at_rest`]).
//!
//! `porchlight-at-rest --server-bin PATH --out FILE [--scratch DIR] [--conversations 100000]
//! [--messages 20] [--idle-secs 600] [--engines sqlite,postgres]`

use porchlight_bench::at_rest;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

struct Args {
    server_bin: PathBuf,
    out: PathBuf,
    scratch: PathBuf,
    conversations: usize,
    messages: usize,
    idle: Duration,
    engines: Vec<&'static str>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut server_bin = None;
    let mut out = None;
    let mut scratch = None;
    let mut conversations = 100_000;
    let mut messages = 20;
    let mut idle = Duration::from_secs(600);
    let mut engines = vec!["sqlite", "postgres"];
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(format!("{arg} needs a value"));
        let number = |text: String| {
            text.replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("{arg} takes a whole number, not {text:?}"))
        };
        match arg.as_str() {
            "--server-bin" => server_bin = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--scratch" => scratch = Some(PathBuf::from(value()?)),
            "--conversations" => conversations = number(value()?)?,
            "--messages" => messages = number(value()?)?,
            "--idle-secs" => idle = Duration::from_secs(number(value()?)? as u64),
            "--engines" => {
                engines = value()?
                    .split(',')
                    .map(|e| match e.trim() {
                        "sqlite" => Ok("sqlite"),
                        "postgres" => Ok("postgres"),
                        other => Err(format!("no engine {other:?}: sqlite or postgres")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let out = out.ok_or("--out FILE is needed")?;
    Ok(Args {
        server_bin: server_bin.ok_or("--server-bin PATH is needed")?,
        scratch: scratch.unwrap_or_else(|| out.with_extension("scratch")),
        out,
        conversations,
        messages,
        idle,
        engines,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let figures = match at_rest::run(
        &args.server_bin,
        &args.scratch,
        args.conversations,
        args.messages,
        args.idle,
        &args.engines,
    ) {
        Ok(figures) => figures,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let table = at_rest::table(&figures, args.idle);
    print!("{table}");
    if let Err(err) = std::fs::write(&args.out, &table) {
        eprintln!("error: cannot write {}: {err}", args.out.display());
        return ExitCode::FAILURE;
    }
    let _ = std::fs::remove_dir_all(&args.scratch);
    ExitCode::SUCCESS
}
