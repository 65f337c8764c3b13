//! Who and where this run is: the host's name and the user's, as lock
//! holders, the audit log and the state history name them. A leaf.

/// This host's name.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let name = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
}

/// Who runs tether: `USER` or `LOGNAME`, else `uid<N>` (lock holders and
/// the audit log name the same person).
pub fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(uid_name)
}

fn uid_name() -> String {
    #[cfg(unix)]
    {
        format!("uid{}", rustix::process::getuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}
