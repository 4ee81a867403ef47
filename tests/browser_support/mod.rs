//! Renders an HTML page in a real headless Chromium (Debian's `chromium`, installed by
//! `bash tools/setup.sh`) and tells whether it rendered completely: every `<img>` decoded with a
//! non-zero natural size, every `<svg>` laid out with a non-zero bounding box. It also saves a
//! PNG screenshot of the page, for a person (or the file tool) to look at.
//!
//! [`webdriver`] drives pages that are served (the workbench) through chromedriver instead.
//!
//! The render check needs no WebDriver: the page is copied into a temporary folder with a small script injected before
//! `</body>` that, on `load`, measures the images and SVGs and writes the result as JSON into a
//! `<pre id="explainme-render-check">`; `chromium --dump-dom` prints the DOM after load and the
//! JSON is read back from it. A second run of Chromium takes the screenshot of the page as it
//! was (without the injected script). Because only the HTML file is copied, anything the page
//! loads by a relative path fails to load: a report must be self-contained (data: URIs and
//! inline `<svg>`), and this check catches one that is not.
//!
//! Use it from a test file in `tests/` with `mod browser_support;`.
#![allow(dead_code)] // each test binary uses a different subset

pub mod webdriver;

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::Value;

/// Where Chromium is when `EXPLAINME_CHROMIUM` does not say otherwise.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// One Chromium run is killed (with everything it started) after this long.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The id of the element the injected script writes its JSON into.
const RESULT_ID: &str = "explainme-render-check";

/// The flags this closed network needs (see the machine notes): no sandbox as root, no GPU, and
/// no background connections, which the network refuses. `--user-data-dir` is added per run.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    // Virtual time: Chromium runs the page until it is idle (or 10 virtual seconds passed),
    // fast-forwarding timers, so images have decoded and `load` has fired before it dumps.
    "--virtual-time-budget=10000",
];

/// The screenshot's viewport: the first 1280 × 2400 CSS pixels of the page.
pub const WINDOW_SIZE: &str = "1280,2400";

/// Measures every image and SVG once the page has loaded. The JSON is written with every
/// character outside printable ASCII and every `<`, `>`, `&` as a `\uXXXX` escape, so that the
/// serialised DOM carries it verbatim (no HTML entities to undo, whatever the page's text).
const SCRIPT: &str = r#"<script>
(function () {
  function label(el, fallback) {
    var s = el.getAttribute('alt') || el.getAttribute('id') || el.getAttribute('aria-label');
    if (!s) { var t = el.querySelector && el.querySelector('title'); if (t) s = t.textContent; }
    if (!s) s = fallback;
    s = (s || '').replace(/\s+/g, ' ').trim();
    return s.length > 60 ? s.slice(0, 60) + '…' : s;
  }
  function measure() {
    var images = Array.prototype.map.call(document.querySelectorAll('img'), function (img) {
      var done = img.complete;
      return { what: label(img, 'img ' + (img.getAttribute('src') || '')),
               width: done ? img.naturalWidth : 0, height: done ? img.naturalHeight : 0 };
    });
    var svgs = Array.prototype.map.call(document.querySelectorAll('svg'), function (svg) {
      var box = svg.getBoundingClientRect();
      return { what: label(svg, svg.outerHTML), width: box.width, height: box.height };
    });
    var json = JSON.stringify({ title: document.title, images: images, svgs: svgs })
      .replace(/[^\x20-\x7e]|[<>&]/g, function (c) {
        return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
      });
    var pre = document.createElement('pre');
    pre.id = 'explainme-render-check';
    pre.textContent = json;
    (document.body || document.documentElement).appendChild(pre);
  }
  window.addEventListener('load', measure);
})();
</script>
"#;

/// What Chromium rendered of one page.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderReport {
    /// Every `<img>`, in document order: its natural size in pixels (0 × 0 when it did not
    /// load or decode, or had not finished loading).
    pub images: Vec<Element>,
    /// Every `<svg>` (nested ones too), in document order: its bounding box in CSS pixels.
    pub svgs: Vec<Element>,
    /// `document.title`.
    pub title: String,
}

/// One measured element.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Its `alt`, else `id`, else `aria-label`, else its `<title>`, else the first characters
    /// of its `src` (images) or markup (SVGs); at most 60 characters.
    pub what: String,
    pub width: f64,
    pub height: f64,
}

impl Element {
    fn rendered(&self) -> bool {
        self.width > 0.0 && self.height > 0.0
    }
}

impl RenderReport {
    /// One line for every image or SVG of zero width or height; empty when all rendered.
    pub fn failures(&self) -> Vec<String> {
        let images = self.images.iter().filter(|e| !e.rendered()).map(|e| {
            format!(
                "image {:?} did not load (natural size {} × {})",
                e.what, e.width, e.height
            )
        });
        let svgs = self.svgs.iter().filter(|e| !e.rendered()).map(|e| {
            format!(
                "svg {:?} has an empty bounding box ({} × {})",
                e.what, e.width, e.height
            )
        });
        images.chain(svgs).collect()
    }
}

/// The Chromium to run: `EXPLAINME_CHROMIUM` if set, else [`DEFAULT_CHROMIUM`].
pub fn chromium_path() -> PathBuf {
    std::env::var_os("EXPLAINME_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

/// Renders `html` in [`chromium_path`]'s Chromium, measures its images and SVGs, and saves a
/// PNG screenshot of its first 1280 × 2400 pixels at `screenshot` (parent folders created).
/// An error (never a skip) when Chromium is missing, fails, hangs past [`TIMEOUT`] or leaves
/// no result.
pub fn render_check(html: &Path, screenshot: &Path) -> Result<RenderReport> {
    render_check_with(&chromium_path(), html, screenshot)
}

/// [`render_check`] with the given Chromium executable.
pub fn render_check_with(chromium: &Path, html: &Path, screenshot: &Path) -> Result<RenderReport> {
    ensure!(
        chromium.is_file(),
        "no Chromium at {} (run `bash tools/setup.sh` to install Debian's chromium, or point \
         EXPLAINME_CHROMIUM at one)",
        chromium.display()
    );
    let page = std::fs::read_to_string(html)
        .with_context(|| format!("reading the page {}", html.display()))?;
    let work = tempfile::tempdir().context("making a temporary folder for Chromium")?;

    let checked = work.path().join("check.html");
    std::fs::write(&checked, inject(&page))?;
    let dom = run_chromium(chromium, work.path(), &["--dump-dom".into()], &checked)?;
    let report = parse_dom(&dom).with_context(|| {
        format!(
            "reading the render check of {} from Chromium's DOM dump",
            html.display()
        )
    })?;

    let copy = work.path().join("page.html");
    std::fs::write(&copy, &page)?;
    let screenshot = std::path::absolute(screenshot)?;
    if let Some(parent) = screenshot.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(&screenshot);
    let args = [
        format!("--screenshot={}", screenshot.display()),
        format!("--window-size={WINDOW_SIZE}"),
    ];
    run_chromium(chromium, work.path(), &args, &copy)?;
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    ensure!(
        size > 0,
        "Chromium left no screenshot at {}",
        screenshot.display()
    );
    Ok(report)
}

/// `page` with [`SCRIPT`] before its last `</body>` (any case), or at its end without one.
fn inject(page: &str) -> String {
    let at = page
        .to_ascii_lowercase()
        .rfind("</body")
        .unwrap_or(page.len());
    format!("{}{SCRIPT}{}", &page[..at], &page[at..])
}

/// Runs Chromium once on `page` with a new profile under `work`, stdout and stderr to files
/// there (so that no pipe can hang on a helper process that outlives it); returns its stdout.
fn run_chromium(chromium: &Path, work: &Path, args: &[String], page: &Path) -> Result<String> {
    let profile = tempfile::tempdir_in(work)?;
    let stdout_path = work.join("chromium.stdout");
    let stderr_path = work.join("chromium.stderr");
    let url = format!("file://{}", page.display());
    let mut child = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path)?)
        .stderr(File::create(&stderr_path)?)
        // Its own process group, so that a hang is ended with every helper process it started.
        .process_group(0)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (run `bash tools/setup.sh` to install Debian's chromium)",
                chromium.display()
            )
        })?;

    let deadline = Instant::now() + TIMEOUT;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            // The child is not reaped yet, so its process group id is still its own.
            let group = format!("-{}", child.id());
            let killed = Command::new("kill")
                .args(["-KILL", "--", &group])
                .status()
                .is_ok_and(|s| s.success());
            if !killed {
                let _ = child.kill();
            }
            let _ = child.wait();
            bail!(
                "Chromium did not finish {url} within {} s and was killed{}",
                TIMEOUT.as_secs(),
                stderr_tail(&stderr_path)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    ensure!(
        status.success(),
        "Chromium failed on {url} ({status}){}",
        stderr_tail(&stderr_path)
    );
    let stdout = std::fs::read(&stdout_path)?;
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// The last lines of Chromium's stderr (mostly harmless D-Bus noise), to append to an error.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    if tail.is_empty() {
        "; Chromium printed nothing on stderr".into()
    } else {
        format!("; the end of Chromium's stderr:\n{tail}")
    }
}

/// The report in the `<pre id="explainme-render-check">` of a DOM dump.
fn parse_dom(dom: &str) -> Result<RenderReport> {
    let open = format!(r#"<pre id="{RESULT_ID}">"#);
    let start = dom.rfind(&open).ok_or_else(|| {
        anyhow!(
            "no <pre id=\"{RESULT_ID}\"> in the DOM: the page's load event did not fire within \
             the virtual time budget, or a script replaced the document ({} bytes dumped)",
            dom.len()
        )
    })? + open.len();
    let end = dom[start..]
        .find("</pre>")
        .context("the result element is not closed")?;
    let json = html_unescape(&dom[start..start + end]);
    let value: Value = serde_json::from_str(&json).context("the result is not JSON")?;
    let elements = |key: &str| -> Result<Vec<Element>> {
        value[key]
            .as_array()
            .with_context(|| format!("no {key:?} array"))?
            .iter()
            .map(|e| {
                Ok(Element {
                    what: e["what"].as_str().unwrap_or_default().to_owned(),
                    width: e["width"].as_f64().context("an element without width")?,
                    height: e["height"].as_f64().context("an element without height")?,
                })
            })
            .collect()
    };
    Ok(RenderReport {
        images: elements("images")?,
        svgs: elements("svgs")?,
        title: value["title"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Undoes the entities an HTML serialiser writes in text: named `&amp; &lt; &gt; &quot; &#39;
/// &nbsp;` and numeric ones. The script already avoids them; this is for safety.
fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest
            .find(';')
            .filter(|&end| end <= 10)
            .map(|end| &rest[1..end]);
        let decoded = entity.and_then(|name| match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                let number = name.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(name), Some(c)) => {
                out.push(c);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
