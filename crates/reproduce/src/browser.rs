//! Headless Chromium for one reproduction: a throwaway profile (and home directory, so
//! that the crash handler's database lives there too), its own process group, and a
//! [`Drop`] that kills the group with `SIGKILL`, sweeps `/proc` for anything that left
//! the group but still names the profile, and only then removes the profile.
//!
//! Running as root, Chromium refuses to start without `--no-sandbox`; the containment
//! that matters here is the egress proxy's guard (every connection goes through it), the
//! byte and time caps, and the process-group kill (see `docs/reproduce.md`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::Instant;

use crate::ReproduceError;

/// A running browser; killed, with every process it started, when dropped.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    /// Killed and reaped already.
    done: bool,
    /// Dropped last: the profile is removed after every process using it is gone.
    profile: tempfile::TempDir,
}

/// The flags every reproduction's browser starts with (besides the profile, the proxy and
/// the sandbox flag).
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-pings",
    "--disable-field-trial-config",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,\
     CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,DialMediaRouteProvider",
    "--mute-audio",
    "--disk-cache-size=1",
    "--incognito",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--window-size=1280,800",
    "--js-flags=--max-old-space-size=256",
    "--proxy-bypass-list=<-loopback>",
];

/// Whether this process runs as root (Chromium then needs `--no-sandbox`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Browser {
    /// Starts `chromium` with a fresh profile (under `scratch`, default the system's
    /// temporary directory), all traffic through `proxy`.
    pub fn launch(chromium: &Path, scratch: Option<&Path>, proxy: SocketAddr) -> Result<Browser, ReproduceError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("ferretwatch-reproduce-");
        let profile = match scratch {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(ReproduceError::Io)?;
        let home = profile.path().join("home");
        std::fs::create_dir_all(&home).map_err(ReproduceError::Io)?;
        let mut command = Command::new(chromium);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
            .arg(format!("--proxy-server=http://{proxy}"))
            .arg("about:blank")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            command.arg("--no-sandbox");
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|e| ReproduceError::Launch(format!("{}: {e}", chromium.display())))?;
        Ok(Browser { child, done: false, profile })
    }

    /// The profile directory (every process of this browser names it).
    pub fn profile(&self) -> &Path {
        self.profile.path()
    }

    /// Waits for the DevTools websocket URL (from `DevToolsActivePort`) until `deadline`.
    pub async fn devtools_url(&mut self, deadline: Instant) -> Result<String, ReproduceError> {
        let file = self.profile.path().join("profile").join("DevToolsActivePort");
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    if let Ok(port) = port.trim().parse::<u16>() {
                        return Ok(format!("ws://127.0.0.1:{port}{}", path.trim()));
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ReproduceError::Launch(format!("chromium exited at start ({status})")));
            }
            if Instant::now() >= deadline {
                return Err(ReproduceError::Launch("chromium did not open its DevTools port in time".into()));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Kills the process group and every process that still names the profile, and
    /// reaps the browser.
    pub fn kill(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Helpers that left the group (the crash handler daemonises) still name the
        // profile on their command line.
        for _ in 0..3 {
            let left = processes_naming(self.profile.path());
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The live processes whose command line contains `path` (zombies have none).
pub fn processes_naming(path: &Path) -> Vec<u32> {
    let needle = path.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()))
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read(PathBuf::from(format!("/proc/{pid}/cmdline")))
                .is_ok_and(|cmdline| cmdline.windows(needle.len().max(1)).any(|w| w == needle))
        })
        .collect()
}
