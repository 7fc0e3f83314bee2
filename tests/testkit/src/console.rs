//! `callvault console` as a process: started on a free port, its URL read from the line it
//! prints, stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// A running console.
#[derive(Debug)]
pub struct ConsoleProcess {
    child: Child,
    /// Its URL, without a trailing slash (`http://127.0.0.1:<port>`).
    pub base: String,
}

impl ConsoleProcess {
    /// Runs `callvault` (with its global options already on `command`) as
    /// `console --port 0`, and waits for the URL it prints.
    pub fn start(mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .args(["console", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting callvault console")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout piped")?).read_line(&mut line)?;
        let Some(base) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .map(|u| u.trim_end_matches('/').to_owned())
        else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("the console printed no URL: {line:?}");
        };
        Ok(Self { child, base })
    }

    /// The URL of `path` (`/calls?...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
