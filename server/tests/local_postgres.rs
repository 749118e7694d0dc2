//! The throwaway PostgreSQL of the tests, the demo and the benchmarks: it starts, gives
//! separate databases, stops on drop, restarts on its folder, and dies with its parent.

use porchlight_server::local_postgres::{Durability, LocalPostgres, accepts_connections};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child process of [`the_server_dies_with_the_process_that_started_it`].
const HELPER_ENV: &str = "PORCHLIGHT_LOCAL_POSTGRES_HELPER";

/// A fresh folder `target/test-postgres/local-postgres-PID-NAME`.
fn data_dir(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside target/");
    let dir = target
        .join("test-postgres")
        .join(format!("local-postgres-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start(data: &Path) -> LocalPostgres {
    let started = Instant::now();
    let server = LocalPostgres::start(data, Durability::Fast).expect("start PostgreSQL");
    eprintln!(
        "PostgreSQL on port {} started in {:.2} s ({})",
        server.port(),
        started.elapsed().as_secs_f64(),
        data.display()
    );
    server
}

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect")
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether process `pid` is gone (or a zombie nobody reaped).
fn process_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).map_or(true, |status| {
        status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z'))
    })
}

#[test]
fn two_fresh_databases_are_separate_and_the_server_stops_on_drop() {
    let data = data_dir("separate");
    let server = start(&data);
    let started = Instant::now();
    let first = server.fresh_database("first").expect("first database");
    let second = server.fresh_database("second").expect("second database");
    eprintln!(
        "two databases created in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_ne!(first, second);
    assert!(first.starts_with(&format!(
        "postgres://postgres@127.0.0.1:{}/first_",
        server.port()
    )));

    let mut a = client(&first);
    let mut b = client(&second);
    for (db, word) in [(&mut a, "apple"), (&mut b, "banana")] {
        db.batch_execute("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
            .expect("create table");
        db.execute("INSERT INTO notes VALUES (1, $1)", &[&word])
            .expect("insert");
    }
    let read = |db: &mut postgres::Client| -> String {
        db.query_one("SELECT body FROM notes WHERE id = 1", &[])
            .expect("select")
            .get(0)
    };
    assert_eq!(read(&mut a), "apple");
    assert_eq!(read(&mut b), "banana");
    let count: i64 = b
        .query_one("SELECT count(*) FROM notes", &[])
        .expect("count")
        .get(0);
    assert_eq!(count, 1, "the second database sees only its own row");

    let (port, pid) = (server.port(), server.pid());
    // Open connections must not hold up the stop.
    let started = Instant::now();
    drop(server);
    eprintln!("stopped in {:.2} s", started.elapsed().as_secs_f64());
    assert!(!accepts_connections(port), "port {port} still accepts");
    assert!(process_gone(pid), "postgres {pid} still runs");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_second_start_reuses_the_cluster_even_after_a_stale_pid_file() {
    let data = data_dir("restart");
    let server = start(&data);
    let first_pid = server.pid();
    let url = server.fresh_database("kept").expect("database");
    client(&url)
        .batch_execute("CREATE TABLE kept (n INT); INSERT INTO kept VALUES (42)")
        .expect("write");
    drop(server);
    assert!(process_gone(first_pid));

    let server = start(&data);
    assert_ne!(server.pid(), first_pid);
    let url = url.replacen(
        &format!(":{}/", url_port(&url)),
        &format!(":{}/", server.port()),
        1,
    );
    let n: i32 = client(&url)
        .query_one("SELECT n FROM kept", &[])
        .expect("read")
        .get(0);
    assert_eq!(n, 42, "the cluster and its data were kept");
    drop(server);

    // A killed server leaves postmaster.pid behind, naming a pid another process may
    // since hold: here a `sleep` of the server's user, which PostgreSQL alone would
    // take for a live server (it can signal it). The next start must not refuse.
    let mut sleeper = if running_as_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "sleep",
        ]);
        command
    } else {
        Command::new("sleep")
    };
    let mut sleeper = sleeper.arg("30").spawn().expect("run sleep");
    std::fs::write(
        data.join("postmaster.pid"),
        format!("{}\n{}\n0\n5432\n", sleeper.id(), data.display()),
    )
    .expect("write a stale postmaster.pid");
    let server = start(&data);
    assert!(accepts_connections(server.port()));
    drop(server);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir_all(&data);
}

/// The `postgres` crate's blocking client runs its own Tokio runtime, which must not
/// trip over the async tests' own.
#[tokio::test]
async fn it_starts_and_creates_databases_inside_an_async_test() {
    let data = data_dir("async");
    let server = start(&data);
    let url = server.fresh_database("async").expect("database");
    assert!(url.contains("/async_"));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// The port in a `postgres://user@host:PORT/db` URL.
fn url_port(url: &str) -> u16 {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("a port in the URL")
}

#[test]
fn the_server_dies_with_the_process_that_started_it() {
    let data = data_dir("orphan");
    let mut helper = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "helper_holds_a_server_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, &data)
        // The helper waits for this pipe to close: if this test fails, the helper ends.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the helper");
    let stdout = helper.stdout.take().expect("the helper's stdout");
    let mut announced = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the helper");
        // libtest's "test NAME ... " comes first on the same line.
        if let Some((_, rest)) = line.split_once("LOCAL_POSTGRES ") {
            let (pid, port) = rest.split_once(' ').expect("pid and port");
            announced = Some((
                pid.parse::<u32>().expect("pid"),
                port.parse::<u16>().expect("port"),
            ));
            break;
        }
    }
    let (pid, port) = announced.expect("the helper announces its server");
    assert!(accepts_connections(port));

    helper.kill().expect("SIGKILL the helper");
    helper.wait().expect("reap the helper");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !process_gone(pid) || accepts_connections(port) {
        assert!(
            Instant::now() < deadline,
            "postgres {pid} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&data);
}

/// Only does something as the child of [`the_server_dies_with_the_process_that_started_it`]:
/// starts a server from a thread that then ends (as a test's thread would), checks the
/// server outlived that thread, announces it and waits to be killed (or for its stdin to
/// close, if the test fails first).
#[test]
fn helper_holds_a_server_until_killed() {
    let Some(data) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let data = PathBuf::from(data);
    let server = std::thread::spawn(move || start(&data))
        .join()
        .expect("the starting thread");
    std::thread::sleep(Duration::from_millis(200));
    let url = server.url("postgres");
    client(&url).batch_execute("SELECT 1").expect("still up");
    println!("LOCAL_POSTGRES {} {}", server.pid(), server.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}
