//! A real headless Chromium driven over WebDriver: Debian's `chromedriver` (package
//! `chromium-driver`, installed by `bash tools/setup.sh`) started on a free loopback port,
//! and a fantoccini session on it. The browser's console is recorded (`goog:loggingPrefs`)
//! so a test can assert that a page logged no error.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use super::{FLAGS, chromium_path};

/// Where chromedriver is when `EXPLAINME_CHROMEDRIVER` does not say otherwise.
pub const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser window: a laptop screen.
pub const WINDOW: (u32, u32) = (1280, 1000);

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    pub fn start(log: &Path) -> Result<Driver> {
        let path: PathBuf = std::env::var_os("EXPLAINME_CHROMEDRIVER")
            .map_or_else(|| PathBuf::from(DEFAULT_CHROMEDRIVER), PathBuf::from);
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (run `bash tools/setup.sh` to install Debian's chromium-driver)",
                    path.display()
                )
            })?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not listen on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }

    /// A new headless session, its console recorded.
    pub async fn session(&self) -> Result<Client> {
        let mut args: Vec<String> = FLAGS
            .iter()
            .filter(|flag| !flag.starts_with("--virtual-time-budget"))
            .map(|flag| (*flag).to_owned())
            .collect();
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path(),
                "args": args,
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .context("cannot open a chromedriver session")
    }
}

/// chromedriver's browser log (`POST /session/{id}/se/log`, type `browser`): every console
/// message and failed load since the last call, as `(level, message)`.
pub async fn console(client: &Client) -> Result<Vec<(String, String)>> {
    let entries = client.issue_cmd(BrowserLog).await?;
    let entries = entries.as_array().cloned().unwrap_or_default();
    Ok(entries
        .iter()
        .map(|e| {
            (
                e["level"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// The log entries at level SEVERE: console errors, uncaught exceptions, failed loads.
pub async fn console_errors(client: &Client) -> Result<Vec<String>> {
    Ok(console(client)
        .await?
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .map(|(_, message)| message)
        .collect())
}

#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
