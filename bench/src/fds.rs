//! Open-file limits: each socket is a descriptor on both sides, so a run of N sockets needs
//! N descriptors plus some spare in the load generator and in the server. The soft limit
//! is raised to the hard one; the server, started afterwards, inherits it.

/// Descriptors beyond the sockets: the listener, epoll, logs, stdio, the runtime's own.
pub const SPARE: u64 = 256;

/// Descriptors a process needs to hold `sockets` sockets.
pub fn needed(sockets: usize) -> u64 {
    sockets as u64 + SPARE
}

/// Whether a limit of `limit` open files holds `sockets`; the error says how to fix it.
pub fn check(sockets: usize, limit: u64, whose: &str) -> Result<(), String> {
    let need = needed(sockets);
    if limit >= need {
        Ok(())
    } else {
        Err(format!(
            "{whose} may open {limit} files, but {sockets} sockets need at least {need}: \
             raise the hard limit on open files (as root `ulimit -Hn {need}`, or `nofile` in \
             /etc/security/limits.conf) or bench fewer sockets with --sizes"
        ))
    }
}

/// Raises this process's soft limit on open files to its hard limit; returns the new
/// (soft, hard) pair.
pub fn raise_to_hard() -> Result<(u64, u64), String> {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map_err(|e| format!("cannot read the limit on open files: {e}"))?;
    if soft < hard {
        rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard)
            .map_err(|e| format!("cannot raise the open-file limit from {soft} to {hard}: {e}"))?;
    }
    Ok((hard.max(soft), hard))
}

/// The soft "Max open files" limit in the text of `/proc/PID/limits`.
pub fn parse_proc_limits(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_must_hold_the_sockets_and_the_spare() {
        assert!(check(10_000, 20_000, "x").is_ok());
        assert!(check(10_000, 10_256, "x").is_ok());
        let err = check(10_000, 1_024, "the load generator").expect_err("too low");
        assert!(err.contains("1024") && err.contains("10256"), "{err}");
    }

    #[test]
    fn reads_the_soft_limit_from_proc() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            20000                20000                files     \n";
        assert_eq!(parse_proc_limits(text), Some(20_000));
        assert_eq!(
            parse_proc_limits("Max open files unlimited unlimited files"),
            Some(u64::MAX)
        );
        assert_eq!(parse_proc_limits("nothing here"), None);
    }
}
