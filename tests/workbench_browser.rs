//! The clinician workbench in a real headless Chromium, driven over WebDriver (Debian's
//! chromium and chromium-driver), against a real server: the demo CNN through ONNX Runtime, a
//! phantom cohort in a real SQLite store, a fitted explainer. A reader opens a case, moves the
//! window and the overlay opacity from the keyboard, labels a feature, reloads and sees it
//! kept, has an invalid label refused with the server's message, gives feedback and finds it
//! counted in the knowledge summary, and accepts a candidate association. Every page is
//! checked for console errors and images that did not load; screenshots are saved under
//! `target/tmp/workbench/`.

mod browser_support;
mod server_support;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use browser_support::webdriver::{Driver, console_errors};
use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use server_support::{Running, phantom_cases, register_demo, upsert};
use tonic::transport::Channel;

const COHORT: &str = "renal";
/// Enough cases to fit every stage (rules, network, probes) in well under a minute in debug.
const CASES: usize = 160;
const CASE: &str = "case_00003";
const READER: &str = "Dr Ada Test";

/// Where the screenshots go: kept after the test, for a person to look at.
fn artefacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("workbench")
}

async fn fitted_explainer(running: &Running, cohort_dir: &Path) -> String {
    let mut client = running.client();
    let model_id = register_demo(&mut client).await;
    let (_, cases) = phantom_cases(cohort_dir, COHORT, CASES);
    upsert(&mut client, cases).await.unwrap();
    let mut stream = client
        .fit_explainer(pb::FitExplainerRequest {
            model_id,
            cohort: COHORT.into(),
            feature_layers: Vec::new(),
            params: Some(pb::ExplainerParams {
                seed: 3,
                concept_permutations: 50,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(event) = stream.message().await.unwrap() {
        if let Some(pb::fit_progress::Event::Finished(info)) = event.event {
            return info.explainer_id;
        }
    }
    panic!("the fit ended without its explainer");
}

/// Runs `script` (a function body) and returns its value.
async fn js(browser: &Client, script: &str) -> Result<Value> {
    Ok(browser.execute(script, Vec::new()).await?)
}

/// Every `<img>` of the page decoded with a size; every failure named.
async fn assert_images_loaded(browser: &Client, page: &str) -> Result<usize> {
    let images = js(
        browser,
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);",
    )
    .await?;
    let images = images.as_array().cloned().unwrap_or_default();
    let broken: Vec<&Value> = images.iter().filter(|i| i[1] != json!(true)).collect();
    ensure!(broken.is_empty(), "{page}: images not loaded: {broken:?}");
    Ok(images.len())
}

/// Readable and keyboard-operable: nothing wider than the window, and every visible control
/// named by a label (or an aria-label), so a screen reader and a keyboard user know what it is.
async fn assert_usable(browser: &Client, page: &str) -> Result<()> {
    let overflow = js(
        browser,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    )
    .await?;
    ensure!(
        overflow.as_i64() <= Some(0),
        "{page}: {overflow} px wider than the window"
    );
    let unnamed = js(
        browser,
        "return Array.from(document.querySelectorAll('input, select, textarea, button'))
           .filter(e => e.type !== 'hidden')
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                        && !(e.tagName === 'BUTTON' && e.textContent.trim()))
           .map(e => e.outerHTML.slice(0, 80));",
    )
    .await?;
    ensure!(
        unnamed.as_array().is_some_and(Vec::is_empty),
        "{page}: unnamed controls {unnamed}"
    );
    Ok(())
}

async fn assert_no_console_errors(browser: &Client, page: &str) -> Result<()> {
    let errors = console_errors(browser).await?;
    ensure!(errors.is_empty(), "{page}: console errors: {errors:?}");
    Ok(())
}

async fn screenshot(browser: &Client, name: &str) -> Result<PathBuf> {
    let png = browser.screenshot().await?;
    ensure!(png.starts_with(b"\x89PNG"), "{name}: not a PNG screenshot");
    let path = artefacts().join(name);
    std::fs::write(&path, png)?;
    Ok(path)
}

async fn text(browser: &Client, css: &str) -> Result<String> {
    Ok(browser
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no element {css}"))?
        .text()
        .await?)
}

/// The sum of the CT canvas's grey levels: it falls when the window centre rises.
const CT_SUM: &str = "const c = document.getElementById('ct');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s;";

/// Painted (opaque) pixels of the heatmap overlay.
const OVERLAY_PAINTED: &str = "const c = document.getElementById('overlay');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n;";

/// The bytes a case view moved: the document and every resource it loaded (decoded sizes,
/// so a cached asset still counts).
const PAGE_WEIGHT: &str = "const entries = performance.getEntriesByType('navigation')
      .concat(performance.getEntriesByType('resource'));
    return entries.reduce((s, e) => s + e.decodedBodySize, 0);";

/// The stored versions of the case's labels, over gRPC.
async fn label_versions(
    client: &mut ExplainerServiceClient<Channel>,
) -> Result<Vec<pb::LabelVersion>> {
    Ok(client
        .get_label_history(pb::GetLabelHistoryRequest {
            cohort: COHORT.into(),
            case_id: CASE.into(),
        })
        .await?
        .into_inner()
        .versions)
}

async fn reader_name(browser: &Client, form: &str) -> Result<()> {
    let input = browser
        .find(Locator::Css(&format!("{form} input[name=author]")))
        .await?;
    input.clear().await?;
    input.send_keys(READER).await?;
    Ok(())
}

async fn submit(browser: &Client, form: &str) -> Result<()> {
    click_and_load(browser, &format!("{form} button[type=submit]")).await
}

/// Clicks `css` and waits until the page it leads to has loaded: a click returns once the
/// browser has it, not once the next document is there.
async fn click_and_load(browser: &Client, css: &str) -> Result<()> {
    js(browser, "window.explainmeOldPage = true; return null;").await?;
    browser.find(Locator::Css(css)).await?.click().await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let loaded = js(
            browser,
            "return window.explainmeOldPage === undefined && document.readyState === 'complete';",
        )
        .await;
        if matches!(loaded, Ok(Value::Bool(true))) {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "{css}: no new page within 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_labels_and_judges_a_case_in_the_browser() {
    std::fs::create_dir_all(artefacts()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_with_workbench(&dir.path().join("data")).await;
    let explainer = fitted_explainer(&running, &dir.path().join("cohort")).await;
    let base = running.workbench.clone().expect("the workbench is served");
    let driver = Driver::start(&artefacts().join("chromedriver.log")).unwrap();
    let browser = driver.session().await.unwrap();
    let outcome = drive(&browser, &base, &explainer, &running).await;
    let _ = browser.close().await;
    outcome.unwrap();
    running.stop().await;
}

async fn drive(browser: &Client, base: &str, explainer: &str, running: &Running) -> Result<()> {
    // The index lists the explainer; its cohort page lists the case.
    browser.goto(base).await?;
    assert_no_console_errors(browser, "index").await?;
    click_and_load(browser, "#explainers td:last-child a:first-child").await?;
    click_and_load(browser, &format!("#cases a[href$='/cases/{CASE}']"))
        .await
        .context("the cohort page lists the case")?;

    // The case view: the CT drawn, the overlay painted, every image loaded, no console error.
    browser
        .wait()
        .for_element(Locator::Css("body[data-viewer=ready]"))
        .await?;
    let case_url = browser.current_url().await?;
    ensure!(
        case_url.path().ends_with(&format!("/cases/{CASE}")),
        "{case_url}"
    );
    let similar = assert_images_loaded(browser, "case").await?;
    ensure!(similar >= 3, "{similar} similar-case thumbnails");
    assert_no_console_errors(browser, "case").await?;
    // The heatmap says which question it answers: what occlusion filled its patches with.
    let faithfulness = browser
        .find(Locator::Css("#faithfulness"))
        .await?
        .text()
        .await?;
    ensure!(
        faithfulness.contains("patches filled with the image's median tissue"),
        "{faithfulness}"
    );
    // And where its insertion curve starts: the blurred image's probability.
    ensure!(
        faithfulness.contains("The blurred image, where insertion starts, scores "),
        "{faithfulness}"
    );
    let weight = js(browser, PAGE_WEIGHT).await?;
    println!("case view: {weight} bytes (document and every resource, decoded)");
    ensure!(
        js(browser, OVERLAY_PAINTED).await?.as_u64() > Some(0),
        "the heatmap overlay paints nothing"
    );
    let shot = screenshot(browser, "case.png").await?;
    println!("screenshot {}", shot.display());
    assert_usable(browser, "case").await?;
    // A reading-room monitor: the same page, wider, still without horizontal scrolling.
    browser.set_window_size(1920, 1200).await?;
    assert_usable(browser, "case at 1920 px").await?;
    screenshot(browser, "case-1920.png").await?;
    js(
        browser,
        "document.getElementById('faithfulness').scrollIntoView({ block: 'center' }); return 0;",
    )
    .await?;
    screenshot(browser, "case-faithfulness.png").await?;
    browser.set_window_size(1280, 1000).await?;

    // Window/level from the keyboard: 20 steps of 5 HU up darkens the picture.
    let before = js(browser, CT_SUM).await?.as_f64().context("CT sum")?;
    let centre = browser.find(Locator::Id("window-centre")).await?;
    centre.send_keys(&"\u{E014}".repeat(20)).await?; // ArrowRight
    let window = browser
        .find(Locator::Id("ct"))
        .await?
        .attr("data-window")
        .await?;
    ensure!(window.as_deref() == Some("140/400"), "window {window:?}");
    let after = js(browser, CT_SUM).await?.as_f64().context("CT sum")?;
    ensure!(
        after < before,
        "grey sum {before} → {after} after raising the centre"
    );
    // The overlay opacity: Home → invisible, End → opaque.
    let opacity = browser.find(Locator::Id("opacity")).await?;
    opacity.send_keys("\u{E011}").await?; // Home
    let hidden = js(
        browser,
        "return document.getElementById('overlay').style.opacity;",
    )
    .await?;
    opacity.send_keys("\u{E010}").await?; // End
    let shown = js(
        browser,
        "return document.getElementById('overlay').style.opacity;",
    )
    .await?;
    ensure!(
        (hidden.as_str(), shown.as_str()) == (Some("0"), Some("1")),
        "opacity {hidden} then {shown}"
    );
    // The threshold: at 95% of the map's range, fewer pixels are painted than at 10%.
    let painted = js(browser, OVERLAY_PAINTED)
        .await?
        .as_u64()
        .context("painted")?;
    browser
        .find(Locator::Id("threshold"))
        .await?
        .send_keys("\u{E010}")
        .await?; // End
    let strongest = js(browser, OVERLAY_PAINTED)
        .await?
        .as_u64()
        .context("painted")?;
    ensure!(
        0 < strongest && strongest < painted,
        "painted pixels {painted} at 10%, {strongest} at 95%"
    );
    screenshot(browser, "case-window-140-opaque.png").await?;

    // Label a feature: necrosis flipped, saved, still there after a reload.
    let necrosis = browser.find(Locator::Id("label-necrosis")).await?;
    let was = necrosis.prop("value").await?.unwrap_or_default();
    let now = if was == "present" {
        "absent"
    } else {
        "present"
    };
    necrosis.select_by_value(now).await?;
    reader_name(browser, "#labels-form").await?;
    submit(browser, "#labels-form").await?;
    let notice = text(browser, "#notice").await?;
    ensure!(notice.contains("Labels saved"), "{notice}");
    browser.refresh().await?;
    let kept = browser
        .find(Locator::Id("label-necrosis"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        kept.as_deref() == Some(now),
        "necrosis after reload: {kept:?}"
    );
    let history = text(browser, "#label-history summary").await?;
    ensure!(history.contains("2 versions"), "{history}");
    let mut client = running.client();
    let versions = label_versions(&mut client).await?;
    ensure!(
        versions.len() == 2 && versions[1].author == READER,
        "{versions:?}"
    );

    // An invalid label — a state the schema does not have, as a stale form would send — is
    // refused with SetCaseLabels' message, and nothing is stored.
    js(
        browser,
        "document.querySelector('#label-margin option[value=infiltrative]').value = 'spiculated'; return null;",
    )
    .await?;
    browser
        .find(Locator::Id("label-margin"))
        .await?
        .select_by_value("spiculated")
        .await?;
    reader_name(browser, "#labels-form").await?;
    submit(browser, "#labels-form").await?;
    let refusal = text(browser, "#labels-error").await?;
    ensure!(
        refusal.contains("spiculated") && refusal.contains("margin"),
        "refusal shown: {refusal}"
    );
    let shown = browser
        .find(Locator::Id("label-margin"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        shown.as_deref() == Some("spiculated"),
        "the form keeps what was sent: {shown:?}"
    );
    screenshot(browser, "label-refused.png").await?;
    assert_no_console_errors(browser, "refused label").await?;
    let versions = label_versions(&mut client).await?;
    ensure!(
        versions.len() == 2,
        "a refused label stored nothing: {versions:?}"
    );

    // Feedback: agree with the verdict, disagree with the rule, name two features.
    browser.goto(case_url.as_str()).await?;
    browser
        .find(Locator::Id("judge-verdict-agree"))
        .await?
        .click()
        .await?;
    browser
        .find(Locator::Id("judge-rule-disagree"))
        .await?
        .click()
        .await?;
    browser
        .find(Locator::Id("comment-rule"))
        .await?
        .send_keys("the margin decided it for me")
        .await?;
    browser
        .find(Locator::Id("determining-margin"))
        .await?
        .click()
        .await?;
    browser
        .find(Locator::Id("determining-enhancement"))
        .await?
        .click()
        .await?;
    reader_name(browser, "#feedback-form").await?;
    submit(browser, "#feedback-form").await?;
    let notice = text(browser, "#notice").await?;
    ensure!(notice.contains("Feedback saved"), "{notice}");

    // The summary counts it; the cohort report's pictures load in it.
    browser
        .goto(&format!("{base}/explainers/{explainer}/summary"))
        .await?;
    screenshot(browser, "summary.png").await?;
    ensure!(
        text(browser, "#feedback-entries").await? == "2",
        "two judgements"
    );
    let verdict_row = text(browser, "#agreement-verdict").await?;
    ensure!(
        verdict_row.contains("100%"),
        "verdict agreement: {verdict_row}"
    );
    let rule_row = text(browser, "#agreement-rule").await?;
    ensure!(rule_row.contains("0%"), "rule agreement: {rule_row}");
    let concordance: f64 = text(browser, "#concordance").await?.parse()?;
    ensure!((0.0..=1.0).contains(&concordance), "{concordance}");
    let report = js(
        browser,
        "const f = document.getElementById('cohort-report');
         f.scrollIntoView();
         return new Promise(done => {
           const check = () => {
             const d = f.contentDocument;
             if (!d || d.readyState !== 'complete' || !d.body || !d.body.childElementCount) { setTimeout(check, 100); return; }
             done([Array.from(d.images).every(i => i.complete && i.naturalWidth > 0),
                   d.images.length, d.querySelectorAll('svg').length]);
           };
           check();
         });",
    )
    .await?;
    ensure!(
        report[0] == json!(true) && report[2].as_u64() >= Some(2),
        "cohort report in the summary: {report}"
    );
    assert_no_console_errors(browser, "summary").await?;
    screenshot(browser, "summary-report.png").await?;

    // Accept the first candidate: it joins the known associations.
    if browser.find(Locator::Id("candidate-0")).await.is_ok() {
        reader_name(browser, "#candidate-0").await?;
        click_and_load(browser, "#candidate-0 button[value=accept]").await?;
        let known = text(browser, "#known-text").await?;
        let stored = client
            .get_known_associations(pb::GetKnownAssociationsRequest {})
            .await?
            .into_inner();
        ensure!(
            !known.trim().is_empty() && stored.text.trim() == known.trim(),
            "known on the page {known:?}, stored {:?}",
            stored.text
        );
        ensure!(stored.decisions.len() == 1 && stored.decisions[0].author == READER);
        println!("accepted: {}", stored.text.trim());
    } else {
        ensure!(
            browser.find(Locator::Id("no-candidates")).await.is_ok(),
            "neither candidates nor their absence shown"
        );
    }
    assert_no_console_errors(browser, "summary after a decision").await?;

    // The feedback CSV holds both entries.
    let csv = js(
        browser,
        &format!("return fetch('/explainers/{explainer}/feedback.csv').then(r => r.text());"),
    )
    .await?;
    let csv = csv.as_str().unwrap_or_default();
    ensure!(csv.lines().count() == 3, "feedback CSV:\n{csv}");
    ensure!(csv.contains("the margin decided it for me"), "{csv}");

    // A page that does not exist says so.
    browser.goto(&format!("{base}/explainers/nope")).await?;
    let missing = text(browser, "#error").await?;
    ensure!(missing.contains("nope"), "{missing}");
    Ok(())
}
