//! Tool set-up from the package registries only: rustup's wasm32 target, trunk and
//! wasm-bindgen-cli from crates.io, wasm-opt (binaryen), terser (the JavaScript minifier)
//! and axe-core (the accessibility checker the browser tests run) from npm, Chromium and
//! ChromeDriver from Debian, and PostgreSQL and nginx from Debian (the tests' throwaway
//! clusters and load balancer). Each step is skipped when the right version is already
//! there.

use crate::{cargo, root, run, step};
use std::path::PathBuf;
use std::process::Command;

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132.0.0";
const AXE_VERSION: &str = "4.14.1";
/// The JavaScript minifier `cargo xtask build` runs on the widget's JS glue and boot script.
const TERSER_VERSION: &str = "5.51.4";
/// The code size profiler `cargo xtask size` runs for its breakdown (crates.io).
const TWIGGY_VERSION: &str = "0.8.0";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian puts PostgreSQL's server binaries, one `VERSION/bin` per major version.
const POSTGRES_LIB: &str = "/usr/lib/postgresql";
/// Tells Debian's postgresql-common not to create (and so not start) the `main` cluster
/// when the server package is installed: the tests start their own on loopback.
const NO_MAIN_CLUSTER: &str = "/etc/postgresql-common/createcluster.d/porchlight.conf";
/// Where Debian puts nginx (`porchlight_server::balancer` looks there first, then on the
/// PATH).
const NGINX: &str = "/usr/sbin/nginx";
/// The Debian package holding nginx. Since Debian 12 it is the one binary package:
/// `nginx-light` became a transitional package that adds the `echo` module to it, and
/// Debian 13 dropped it; before 12, `nginx` pulls in a flavour (`nginx-core`).
const NGINX_PACKAGE: &str = "nginx";
/// Debian's hook that `invoke-rc.d` asks before it starts a service; exit code 101 means
/// "forbidden".
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// Where `cargo install` puts binaries.
fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// Where npm installs binaryen for this checkout.
fn binaryen_bin() -> PathBuf {
    root().join(".tools/binaryen/node_modules/.bin")
}

/// axe-core's script, which the browser tests inject into the page they check.
pub fn axe_script() -> PathBuf {
    root().join(".tools/axe/node_modules/axe-core/axe.min.js")
}

/// The version of npm package `package` installed in `.tools/DIR` for this checkout, if any.
fn npm_installed(dir: &str, package: &str) -> Option<String> {
    let manifest = std::fs::read_to_string(
        root().join(format!(".tools/{dir}/node_modules/{package}/package.json")),
    )
    .ok()?;
    let (_, rest) = manifest.split_once("\"version\"")?;
    let version = rest.split('"').nth(1)?;
    Some(version.to_string())
}

/// Installs npm package `package` at `version` into `.tools/DIR`.
fn npm_install(dir: &str, package: &str, version: &str) -> Result<(), String> {
    let prefix = root().join(".tools").join(dir);
    std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("{package}@{version}"))
        .stdout(std::io::stderr()))
}

/// terser, the pinned JavaScript minifier (from npm).
pub fn terser() -> Command {
    Command::new(root().join(".tools/terser/node_modules/.bin/terser"))
}

/// PATH with our tool folders first, so trunk finds the pinned wasm-bindgen and wasm-opt.
fn tool_path() -> std::ffi::OsString {
    let mut paths = vec![binaryen_bin(), cargo_bin()];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// A command for `program` with the tool PATH.
fn tool(program: &str) -> Command {
    let mut command = Command::new(program);
    command.env("PATH", tool_path());
    command
}

/// trunk, ready to run with the pinned tools on its PATH.
pub fn trunk() -> Command {
    tool("trunk")
}

/// The pinned wasm-opt (binaryen from npm).
pub fn wasm_opt() -> Command {
    tool("wasm-opt")
}

/// twiggy, installed from crates.io on first use; only `cargo xtask size` needs it.
pub fn twiggy() -> Result<Command, String> {
    if version_of("twiggy").as_deref() != Some(&format!("twiggy-opt {TWIGGY_VERSION}")) {
        step(
            &format!("Installing twiggy {TWIGGY_VERSION} (about 2 minutes, once per machine)"),
            || {
                run(cargo().args([
                    "install",
                    "twiggy",
                    "--version",
                    TWIGGY_VERSION,
                    "--locked",
                    "--force",
                ]))
            },
        )?;
    }
    Ok(tool("twiggy"))
}

/// The first line `program --version` prints, if it runs.
fn version_of(program: &str) -> Option<String> {
    let output = tool(program).arg("--version").output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}

/// The wasm-bindgen version Cargo.lock resolved, which the CLI must equal.
fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_string());
        }
    }
    Err("Cargo.lock has no wasm-bindgen".into())
}

/// Whether we run as root; otherwise system packages go through sudo.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program` run as root: directly when we are, else through sudo.
fn as_root(program: &str) -> Command {
    if running_as_root() {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg(program);
        sudo
    }
}

/// apt-get with `args`, non-interactive, its output on stderr.
fn apt(args: &[&str]) -> Command {
    // sudo resets the environment: pass DEBIAN_FRONTEND as an argument too.
    let mut command = if running_as_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(std::io::stderr());
    command
}

/// Whether some `/usr/lib/postgresql/*/bin` holds initdb.
fn postgres_installed() -> bool {
    std::fs::read_dir(POSTGRES_LIB)
        .map(|versions| {
            versions
                .flatten()
                .any(|version| version.path().join("bin/initdb").is_file())
        })
        .unwrap_or(false)
}

/// Installs Debian's postgresql package, which the tests' throwaway clusters run
/// (`porchlight_server::local_postgres`), without the `main` cluster Debian would
/// otherwise create and start as a service.
fn install_postgres() -> Result<(), String> {
    // postgresql-common reads createcluster.d/*.conf when the server package configures.
    let setting = std::env::temp_dir().join(format!("porchlight-{}.conf", std::process::id()));
    std::fs::write(
        &setting,
        "# Written by `cargo xtask setup`: the tests run their own PostgreSQL clusters.\n\
         create_main_cluster = false\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", setting.display()))?;
    let written = run(as_root("install")
        .args(["-D", "-m", "0644"])
        .arg(&setting)
        .arg(NO_MAIN_CLUSTER));
    let _ = std::fs::remove_file(&setting);
    written?;
    run(&mut apt(&["update"]))?;
    run(&mut apt(&[
        "install",
        "-y",
        "--no-install-recommends",
        "postgresql",
    ]))
}

/// Whether an nginx binary is at [`NGINX`] or on the PATH.
fn nginx_installed() -> bool {
    PathBuf::from(NGINX).is_file()
        || std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("nginx").is_file()))
}

/// Whether `policy-rc.d` exists and forbids starting nginx (answers 101, as Docker's
/// images' does for every service).
fn services_forbidden() -> bool {
    Command::new(POLICY_RC_D)
        .args(["nginx", "start"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.code() == Some(101))
}

/// Installs Debian's [`NGINX_PACKAGE`], which the tests' and the cluster demo's load balancer runs
/// (`porchlight_server::balancer`), without leaving a system nginx serving port 80: while
/// apt installs it a `policy-rc.d` forbids starting services (unless one already does),
/// and afterwards the service is disabled at boot and stopped if it runs anyway.
fn install_nginx() -> Result<(), String> {
    let own_policy = !PathBuf::from(POLICY_RC_D).exists();
    if own_policy {
        let policy =
            std::env::temp_dir().join(format!("porchlight-{}.policy-rc.d", std::process::id()));
        std::fs::write(
            &policy,
            "#!/bin/sh\n# Written by `cargo xtask setup` while it installs nginx, removed after.\nexit 101\n",
        )
        .map_err(|e| format!("cannot write {}: {e}", policy.display()))?;
        let written = run(as_root("install")
            .args(["-m", "0755"])
            .arg(&policy)
            .arg(POLICY_RC_D));
        let _ = std::fs::remove_file(&policy);
        written?;
    } else if !services_forbidden() {
        eprintln!("    {POLICY_RC_D} allows services to start: nginx is stopped after the install");
    }
    let installed = run(&mut apt(&["update"])).and_then(|()| {
        run(&mut apt(&[
            "install",
            "-y",
            "--no-install-recommends",
            NGINX_PACKAGE,
        ]))
    });
    let removed = if own_policy {
        run(as_root("rm").args(["-f", POLICY_RC_D]))
    } else {
        Ok(())
    };
    installed?;
    removed?;
    keep_the_service_off()
}

/// Disables the nginx service the package registered, and stops it if it runs: the
/// balancer starts its own nginx on loopback.
fn keep_the_service_off() -> Result<(), String> {
    if PathBuf::from("/run/systemd/system").is_dir() {
        // systemd: one command disables it at boot and stops it now.
        return run(as_root("systemctl").args(["disable", "--now", "nginx.service"]));
    }
    // System V init (or none, as in a container): no start at boot, and stop what runs.
    if PathBuf::from("/etc/init.d/nginx").is_file() {
        // Best effort: without rc links there is nothing to disable.
        let _ = as_root("update-rc.d")
            .args(["nginx", "disable"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if PathBuf::from("/run/nginx.pid").is_file() {
            run(as_root("/etc/init.d/nginx").arg("stop"))?;
        }
    }
    Ok(())
}

/// Installs whatever is missing. `browser` (the tests' set-up) adds Chromium,
/// ChromeDriver, axe-core, and [`setup_cluster`]'s PostgreSQL and nginx.
pub fn setup(browser: bool) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        step("Adding the wasm32-unknown-unknown target", || {
            run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
        })?;
    }

    if version_of("trunk").as_deref() != Some(&format!("trunk {TRUNK_VERSION}")) {
        step(
            &format!("Installing trunk {TRUNK_VERSION} (about 6 minutes, once per machine)"),
            || {
                run(cargo().args([
                    "install",
                    "trunk",
                    "--version",
                    TRUNK_VERSION,
                    "--locked",
                    "--force",
                ]))
            },
        )?;
    }

    let bindgen = locked_wasm_bindgen()?;
    if version_of("wasm-bindgen").as_deref() != Some(&format!("wasm-bindgen {bindgen}")) {
        // Not --locked: the CLI's own lockfile names a crate version the registry lacks.
        step(
            &format!("Installing wasm-bindgen-cli {bindgen} (about 2 minutes, once per machine)"),
            || {
                run(cargo().args([
                    "install",
                    "wasm-bindgen-cli",
                    "--version",
                    &bindgen,
                    "--force",
                ]))
            },
        )?;
    }

    let wasm_opt = version_of("wasm-opt").unwrap_or_default();
    if !wasm_opt.contains("version 132") {
        step(
            &format!("Installing wasm-opt (binaryen {BINARYEN_VERSION} from npm)"),
            || npm_install("binaryen", "binaryen", BINARYEN_VERSION),
        )?;
    }

    if npm_installed("terser", "terser").as_deref() != Some(TERSER_VERSION) {
        step(&format!("Installing terser {TERSER_VERSION} (npm)"), || {
            npm_install("terser", "terser", TERSER_VERSION)
        })?;
    }

    if browser
        && (npm_installed("axe", "axe-core").as_deref() != Some(AXE_VERSION)
            || !axe_script().is_file())
    {
        step(&format!("Installing axe-core {AXE_VERSION} (npm)"), || {
            npm_install("axe", "axe-core", AXE_VERSION)
        })?;
    }

    if browser && !(PathBuf::from(CHROMIUM).exists() && PathBuf::from(CHROMEDRIVER).exists()) {
        step(
            "Installing Chromium and ChromeDriver from Debian (about a minute)",
            || {
                run(&mut apt(&["update"]))?;
                run(&mut apt(&[
                    "install",
                    "-y",
                    "--no-install-recommends",
                    "chromium",
                    "chromium-driver",
                ]))
            },
        )?;
    }

    if browser {
        setup_cluster()?;
    }
    Ok(())
}

/// Installs what the tests' throwaway clusters and `cargo xtask demo --nodes N` run, if
/// missing: PostgreSQL and nginx.
pub fn setup_cluster() -> Result<(), String> {
    if !postgres_installed() {
        step(
            "Installing PostgreSQL from Debian, without its service cluster (about a minute)",
            install_postgres,
        )?;
    }
    if !nginx_installed() {
        step(
            "Installing nginx from Debian, without its service (about half a minute)",
            install_nginx,
        )?;
    }
    Ok(())
}
