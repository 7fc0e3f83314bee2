//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`),
//! for tests of the console's pages. The browser reaches nothing but 127.0.0.1: every other
//! host name fails to resolve and every other address goes to a closed local port.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// A browser session and the driver behind it, stopped on drop.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    shots: PathBuf,
    _profile: TempDir,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn program(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

impl Browser {
    /// Starts chromedriver (`CHROMEDRIVER`, default `chromedriver`) and a headless Chromium
    /// (`CHROMIUM`, default `/usr/bin/chromium`) with a fresh profile, 1280×900, autoplay
    /// allowed and muted; screenshots go to `shots`.
    pub async fn start(shots: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(shots)?;
        let port = callvault_testkit::free_port()?;
        // In a process group of its own, so that dropping the browser ends Chromium too (a
        // failed test never reaches `close`).
        let driver = Command::new(program("CHROMEDRIVER", "chromedriver"))
            .process_group(0)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver did not start: install Debian's chromium and chromium-driver (`make test` does)")?;
        callvault_testkit::wait_listening(port, Duration::from_secs(30), "chromedriver")?;
        let profile = TempDir(std::env::temp_dir().join(format!("callvault-chromium-{port}")));
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": program("CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--force-device-scale-factor=1",
                    "--hide-scrollbars",
                    "--mute-audio",
                    "--autoplay-policy=no-user-gesture-required",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-domain-reliability",
                    "--disable-sync",
                    "--disable-extensions",
                    "--no-pings",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                    format!("--user-data-dir={}", profile.0.display()),
                ]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("no browser session: is Debian's chromium installed?")?;
        Ok(Self {
            client,
            driver,
            shots: shots.to_owned(),
            _profile: profile,
        })
    }

    /// Saves a screenshot of the window as `<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Evaluates `script` (a function body that returns a value) in the page.
    pub async fn eval(&self, script: &str) -> anyhow::Result<serde_json::Value> {
        Ok(self.client.execute(script, Vec::new()).await?)
    }

    /// Polls `script` until it returns something other than `null` or `false`, for up to
    /// `timeout`.
    pub async fn until(
        &self,
        script: &str,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(script).await?;
            if !value.is_null() && value != json!(false) {
                return Ok(value);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "still null after {timeout:?}: {script}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (closing the browser) and stops the driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
