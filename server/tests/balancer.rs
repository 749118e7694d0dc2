//! The balancer — a real nginx — in front of two real `porchlight-server` processes in
//! memory mode (each its own conversations): plain requests alternate between them, the
//! visitor socket works through it, a process killed with SIGKILL is skipped, and nginx
//! stops, worker included, when dropped and when its parent is killed.

mod common;

use common::{Socket, connect_at, recv, recv_until, send};
use porchlight_protocol::{
    AdminToken, ClientFrame, ConversationId, MessageId, PROTOCOL_VERSION, Seq, ServerFrame, SiteId,
};
use porchlight_server::balancer::{self, Balancer};
use porchlight_server::client::{ControlClient, raw_call};
use porchlight_server::process::ServerProcess;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The admin secret both processes share, as a cluster's processes do.
const ADMIN_TOKEN: &str = "balancer-test-secret";
/// Set in the child process of [`nginx_dies_with_the_process_that_started_it`].
const HELPER_ENV: &str = "PORCHLIGHT_BALANCER_HELPER";

/// A fresh folder `target/test-balancer/balancer-PID-NAME`.
fn folder(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside target/");
    let dir = target
        .join("test-balancer")
        .join(format!("balancer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn token() -> AdminToken {
    AdminToken::new(ADMIN_TOKEN).expect("a valid token")
}

/// A server process in memory mode that answers to `public_host` (the balancer's address)
/// and shares the admin secret.
fn start_node(public_host: SocketAddr) -> ServerProcess {
    let public_host = public_host.to_string();
    let args = [
        "--memory",
        "--widget-dir",
        "no-widget-here",
        "--admin-token",
        ADMIN_TOKEN,
        "--public-host",
        &public_host,
    ];
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_porchlight-server")), args)
        .expect("start porchlight-server")
}

/// Says hello on a fresh socket and returns its conversation.
async fn welcomed(socket: &mut Socket) -> ConversationId {
    send(
        socket,
        ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            site: SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        },
    )
    .await;
    match recv(socket).await {
        ServerFrame::Welcome { conversation, .. } => conversation,
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Opens the visitor socket at `addr` as the widget served from there would.
async fn socket_at(addr: SocketAddr) -> Socket {
    connect_at(addr, &format!("http://{addr}"))
        .await
        .expect("the socket opens")
}

/// The HTTP status of `GET /mock/conversations/{id}` at `addr`: 200 where that
/// process holds the conversation, 404 elsewhere.
async fn conversation_status(addr: SocketAddr, id: &ConversationId) -> u16 {
    ControlClient::new(addr, token())
        .conversation(id.as_str())
        .await
        .expect("an HTTP answer")
        .status
}

/// Whether process `pid` is gone (or a zombie nobody reaped).
fn process_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).map_or(true, |status| {
        status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z'))
    })
}

/// The processes whose parent is `pid` (nginx's master: its worker).
fn children_of(pid: u32) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").expect("read /proc");
    entries
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (_, after_name) = stat.rsplit_once(')')?;
            let parent: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (parent == pid).then_some(child)
        })
        .collect()
}

/// nginx's worker: the master forks it right after it has bound its port.
fn worker_of(master: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let [worker] = children_of(master)[..] {
            return worker;
        }
        assert!(
            Instant::now() < deadline,
            "nginx {master} has no one worker"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// Waits until `pids` are gone and nothing listens on `addr`.
fn wait_until_stopped(pids: &[u32], addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|&pid| process_gone(pid)) || accepts(addr) {
        assert!(
            Instant::now() < deadline,
            "nginx ({pids:?}) still runs or {addr} still accepts"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn requests_alternate_sockets_pass_and_a_killed_process_is_skipped() {
    let addr = balancer::free_addr(Ipv4Addr::LOCALHOST.into()).expect("a free port");
    let first = start_node(addr);
    let second = start_node(addr);
    let dir = folder("cluster");
    let balancer =
        Balancer::start(&dir, addr, &[first.addr(), second.addr()]).expect("start the balancer");
    assert_eq!(balancer.addr(), addr);

    // One conversation on each process, opened directly.
    let mut on_first = socket_at(first.addr()).await;
    let first_conversation = welcomed(&mut on_first).await;
    let mut on_second = socket_at(second.addr()).await;
    let second_conversation = welcomed(&mut on_second).await;
    assert_eq!(
        conversation_status(first.addr(), &first_conversation).await,
        200
    );
    assert_eq!(
        conversation_status(second.addr(), &first_conversation).await,
        404
    );

    // (a) Plain requests through the balancer land on each process in turn: the first
    // process's conversation is found every other time.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(conversation_status(addr, &first_conversation).await);
    }
    assert!(
        statuses.windows(2).all(|pair| pair[0] != pair[1])
            && statuses
                .iter()
                .all(|&status| status == 200 || status == 404),
        "not round-robin over both processes: {statuses:?}"
    );

    // (b) The visitor socket through the balancer: welcomed, and a message acked. Its
    // conversation lives on exactly one process.
    let mut socket = socket_at(addr).await;
    let conversation = welcomed(&mut socket).await;
    let id = MessageId::new("through-nginx").expect("id");
    send(
        &mut socket,
        ClientFrame::SendText {
            id: id.clone(),
            text: "Hello through the balancer".into(),
        },
    )
    .await;
    recv_until(
        &mut socket,
        |frame| matches!(frame, ServerFrame::Ack { id: acked, .. } if *acked == id),
    )
    .await;
    let holders = [
        conversation_status(first.addr(), &conversation).await,
        conversation_status(second.addr(), &conversation).await,
    ];
    assert!(
        holders == [200, 404] || holders == [404, 200],
        "the socket's conversation is held by {holders:?}"
    );

    // (c) The first process killed: every request and socket reaches the second.
    first.kill_9();
    for _ in 0..4 {
        assert_eq!(
            conversation_status(addr, &second_conversation).await,
            200,
            "a request missed the live process"
        );
        let config = raw_call(addr, "GET", "/api/v1/sites/demo/config", &[], "")
            .await
            .expect("an HTTP answer");
        assert_eq!(config.status, 200, "{}", config.text);
    }
    for _ in 0..2 {
        let mut socket = socket_at(addr).await;
        let conversation = welcomed(&mut socket).await;
        assert_eq!(conversation_status(second.addr(), &conversation).await, 200);
    }

    // Dropped, nginx stops with its worker.
    let master = balancer.pid();
    let worker = worker_of(master);
    drop(balancer);
    wait_until_stopped(&[master, worker], addr);
    drop((on_first, on_second, socket, second));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nginx_dies_with_the_process_that_started_it() {
    let dir = folder("orphan");
    let mut helper = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "helper_holds_a_balancer_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, &dir)
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
        if let Some((_, rest)) = line.split_once("BALANCER ") {
            let (pid, addr) = rest.split_once(' ').expect("pid and address");
            announced = Some((
                pid.parse::<u32>().expect("pid"),
                addr.parse::<SocketAddr>().expect("address"),
            ));
            break;
        }
    }
    let (master, addr) = announced.expect("the helper announces its balancer");
    let worker = worker_of(master);
    assert!(accepts(addr));

    helper.kill().expect("SIGKILL the helper");
    helper.wait().expect("reap the helper");
    wait_until_stopped(&[master, worker], addr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Only does something as the child of [`nginx_dies_with_the_process_that_started_it`]:
/// starts a balancer from a thread that then ends (as a test's thread would), announces
/// it and waits to be killed (or for its stdin to close, if the test fails first).
#[test]
fn helper_holds_a_balancer_until_killed() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    // Nothing listens on the discard port; no request is made.
    let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let balancer = std::thread::spawn(move || Balancer::start(&dir, listen, &[upstream]))
        .join()
        .expect("the starting thread")
        .expect("start the balancer");
    println!("BALANCER {} {}", balancer.pid(), balancer.addr());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(balancer);
}
