//! A load run against the real server on loopback (tonic clients, the demo CNN, a fitted
//! explainer on 300 phantom cases), with the figures a hospital's operator asks for:
//!
//! 1. **Sustained load** for `LOAD_SECONDS` (default 60): 64 concurrent clients calling
//!    Explain (fast, with heatmap) on random stored cases back to back, while 2 more keep
//!    re-uploading batches of 8 cases. Reported: calls, throughput, p50 / p99 latency,
//!    errors by code, and the process's resident memory each tenth of the run (it must stop
//!    growing) with its peak.
//! 2. **Predict beside a 64 MB upload**: Predict (batch 1) latency every 20 ms, for 10 s
//!    alone, then for as long as four UpsertCases streams of 32 new cases × 2 MB each (64 MB
//!    of 1024×1024 16-bit PNGs per stream) take: from a client with a connection of its own
//!    (another tool of the ward), over the uploader's own HTTP/2 connection (one channel for
//!    everything, as most clients open; its calls share the connection's flow-control
//!    window with the upload), and with the uploader in a process
//!    of its own (this binary again, with `LOAD_UPLOAD_TO=URL`), so its protobuf encoding does
//!    not run on the server's async workers. After each upload, Predict alone again for as
//!    long as it took, so both sides hold about as many calls. The last comparison runs
//!    `LOAD_REPEATS` times (default 8), alone after the upload and before it by turns, and
//!    pools its windows: one window of ~100 calls reads its p99 off its slowest call or two.
//!    p50 / p99 of each, side by side. Every process shares the two cores.
//!
//! `cargo bench --bench load` (a plain binary; `LOAD_SECONDS=10` for a quick look).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::ServerConfig;
use explainme_cohort::Cohort;
use explainme_rng::Random;
use support::{file, load_average, models, percentile, register_demo, wire_cases};
use tokio::sync::Mutex;

mod support;

const CASES: usize = 300;
const EXPLAINERS: usize = 64;
const UPLOADERS: usize = 2;
const SEED: u64 = 2026;

/// Resident and peak memory of this process (server and clients), in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn summary(label: &str, times: &mut [f64]) -> String {
    times.sort_by(f64::total_cmp);
    if times.is_empty() {
        return format!("{label}: no call");
    }
    format!(
        "{label}: {} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len(),
        1e3 * percentile(times, 0.5),
        1e3 * percentile(times, 0.99),
        1e3 * times[times.len() - 1]
    )
}

/// The number in the environment variable `name`, else `default`.
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// How many upload windows part 2 pools (`LOAD_REPEATS`); the uploader process is told the
/// same number.
fn repeats() -> usize {
    setting("LOAD_REPEATS", 8)
}

/// The difference between the `q` quantiles of two sorted samples, with a 95% percentile
/// bootstrap interval (2,000 resamples of each): an interval holding 0 means this run cannot
/// tell the two apart at that quantile.
fn difference_interval(a: &[f64], b: &[f64], q: f64) -> (f64, f64, f64) {
    let mut random = Random::new(SEED, 300);
    let mut resample = |sample: &[f64]| {
        let mut drawn: Vec<f64> = (0..sample.len())
            .map(|_| sample[random.below(sample.len())])
            .collect();
        drawn.sort_by(f64::total_cmp);
        percentile(&drawn, q)
    };
    let mut differences: Vec<f64> = (0..2000).map(|_| resample(a) - resample(b)).collect();
    differences.sort_by(f64::total_cmp);
    (
        percentile(a, q) - percentile(b, q),
        percentile(&differences, 0.025),
        percentile(&differences, 0.975),
    )
}

/// A noise image of `side`² 16-bit pixels as PNG: incompressible, so `side` = 1024 is 2 MB.
fn noise_png(side: u32, seed: u64) -> Vec<u8> {
    let mut random = Random::new(seed, 7);
    let mut pixels = Vec::with_capacity((side * side * 2) as usize);
    for _ in 0..side * side {
        // HU −1000…+1000, stored with the PNG codec's offset (explainme-imaging's HU_OFFSET).
        let hu = random.below(2001) as f32 - 1000.0;
        let stored = (hu + explainme_imaging::codec::png::HU_OFFSET) as u16;
        pixels.extend_from_slice(&stored.to_be_bytes());
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Sixteen);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().expect("png header");
        writer.write_image_data(&pixels).expect("png data");
    }
    png
}

fn main() {
    if let Ok(url) = std::env::var("LOAD_UPLOAD_TO") {
        return upload_to(&url);
    }
    let seconds: u64 = setting("LOAD_SECONDS", 60);
    println!("load average before: {}", load_average());
    let dir = tempfile::tempdir().expect("temporary folder");
    explainme_phantom::Phantom::params()
        .cases(CASES)
        .seed(SEED)
        .write(&dir.path().join("cohort"), || {})
        .expect("phantoms");
    let cohort = Cohort::open(dir.path().join("cohort")).expect("cohort");
    let cases = wire_cases(&cohort, "load");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let (channel, url) = support::serve_at(ServerConfig {
            // Every client of this run at once, with room to spare: errors here are failures.
            max_concurrent_calls: 4 * (EXPLAINERS + UPLOADERS),
            ..ServerConfig::loopback(dir.path().join("data"))
        })
        .await;
        let mut client = ExplainerServiceClient::new(channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let onnx = std::fs::read(models().join("renal_cnn.onnx")).expect("model");
        let model_id = register_demo(&mut client, onnx).await;
        let messages: Vec<pb::UpsertCaseRequest> = cases
            .iter()
            .cloned()
            .map(|case| pb::UpsertCaseRequest { case: Some(case) })
            .collect();
        client
            .upsert_cases(tokio_stream::iter(messages))
            .await
            .expect("upsert");
        let mut fit = client
            .fit_explainer(pb::FitExplainerRequest {
                model_id: model_id.clone(),
                cohort: "load".into(),
                feature_layers: Vec::new(),
                params: Some(pb::ExplainerParams {
                    seed: SEED,
                    concept_permutations: 50,
                    ..Default::default()
                }),
            })
            .await
            .expect("fit")
            .into_inner();
        let mut explainer = String::new();
        while let Some(event) = fit.message().await.expect("progress") {
            if let Some(pb::fit_progress::Event::Finished(info)) = event.event {
                explainer = info.explainer_id;
            }
        }
        println!(
            "set-up: {CASES} cases stored, explainer {explainer} fitted; memory {:.0} MiB",
            memory().0
        );

        // 1. Sustained load.
        let stop = Arc::new(AtomicBool::new(false));
        let errors: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let mut explainers = Vec::new();
        for worker in 0..EXPLAINERS {
            let mut client = client.clone();
            let (stop, errors, explainer) = (Arc::clone(&stop), Arc::clone(&errors), explainer.clone());
            let ids: Vec<String> = cases.iter().map(|c| c.case_id.clone()).collect();
            explainers.push(tokio::spawn(async move {
                let mut random = Random::new(SEED, 100 + worker as u64);
                let mut times = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let case_id = ids[random.below(ids.len())].clone();
                    let started = Instant::now();
                    let answer = client
                        .explain(pb::ExplainRequest {
                            explainer_id: explainer.clone(),
                            targets: vec![pb::ExplainTarget {
                                target: Some(pb::explain_target::Target::CaseId(case_id)),
                            }],
                            include_heatmap: true,
                            fast: true,
                        })
                        .await;
                    match answer {
                        Ok(_) => times.push(started.elapsed().as_secs_f64()),
                        Err(status) => {
                            *errors.lock().await.entry(format!("Explain {:?}", status.code())).or_default() += 1;
                        }
                    }
                }
                times
            }));
        }
        let mut uploaders = Vec::new();
        for worker in 0..UPLOADERS {
            let mut client = client.clone();
            let (stop, errors) = (Arc::clone(&stop), Arc::clone(&errors));
            let cases = cases.clone();
            uploaders.push(tokio::spawn(async move {
                let mut random = Random::new(SEED, 200 + worker as u64);
                let mut batches = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let batch: Vec<pb::UpsertCaseRequest> = (0..8)
                        .map(|_| pb::UpsertCaseRequest {
                            case: Some(cases[random.below(cases.len())].clone()),
                        })
                        .collect();
                    match client.upsert_cases(tokio_stream::iter(batch)).await {
                        Ok(_) => batches += 1,
                        Err(status) => {
                            *errors.lock().await.entry(format!("UpsertCases {:?}", status.code())).or_default() += 1;
                        }
                    }
                }
                batches
            }));
        }
        let started = Instant::now();
        let mut samples = Vec::new();
        for tenth in 1..=10 {
            tokio::time::sleep(Duration::from_millis(seconds * 100)).await;
            samples.push((tenth, memory().0));
        }
        stop.store(true, Ordering::Relaxed);
        let mut times = Vec::new();
        for worker in explainers {
            times.extend(worker.await.expect("explain worker"));
        }
        let mut batches = 0;
        for worker in uploaders {
            batches += worker.await.expect("upload worker");
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!();
        println!(
            "sustained load, {seconds} s: {EXPLAINERS} clients calling Explain (fast, heatmap) and {UPLOADERS} re-uploading batches of 8 cases"
        );
        let calls = times.len();
        println!("  {}", summary("Explain", &mut times));
        println!(
            "  throughput {:.1} Explain calls/s; {batches} upload batches ({:.1} cases/s)",
            calls as f64 / elapsed,
            (8 * batches) as f64 / elapsed
        );
        let errors = errors.lock().await.clone();
        println!("  errors: {}", if errors.is_empty() { "none".to_owned() } else { format!("{errors:?}") });
        println!(
            "  resident memory by tenth of the run (MiB): {}",
            samples.iter().map(|(t, m)| format!("{t}0% {m:.0}")).collect::<Vec<_>>().join(", ")
        );
        println!("  peak resident memory {:.0} MiB", memory().1);

        // 2. Predict alone, then beside a 64 MB upload.
        // Preprocessed input (the card's unit range), NHWC as the demo card says.
        let input: Vec<f32> = vec![0.5; 64 * 64];
        let predict = pb::PredictRequest {
            model_id: model_id.clone(),
            input: Some(pb::FloatTensor {
                shape: vec![1, 64, 64, 1],
                data: input,
            }),
            prediction_only: true,
            ..Default::default()
        };
        let own = ExplainerServiceClient::new(support::connect(&url).await);
        let probe = |mut client: ExplainerServiceClient<_>, until: Arc<AtomicBool>| {
            let predict = predict.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                while !until.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    client.predict(predict.clone()).await.expect("predict");
                    times.push(started.elapsed().as_secs_f64());
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                times
            })
        };
        // Predict alone on its own connection for `seconds`: after each upload, the same
        // length of time, so the two windows hold about as many calls and p99 means the same.
        let alone_for = |seconds: f64| {
            let done = Arc::new(AtomicBool::new(false));
            let alone = probe(own.clone(), Arc::clone(&done));
            async move {
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                done.store(true, Ordering::Relaxed);
                alone.await.expect("probe")
            }
        };
        let mut alone = alone_for(10.0).await;
        let rounds = upload_rounds(&cases, 0..8);
        let bytes: usize = rounds[0]
            .iter()
            .map(prost::Message::encoded_len)
            .sum();
        println!();
        println!("Predict, batch 1, every 20 ms:");
        println!("  {}", summary("alone, 10 s", &mut alone));
        for (mode, (label, prober)) in [
            ("its own connection", own.clone()),
            ("the uploader's connection", client.clone()),
        ]
        .into_iter()
        .enumerate()
        {
            let done = Arc::new(AtomicBool::new(false));
            let beside = probe(prober, Arc::clone(&done));
            let upload_started = Instant::now();
            for round in &rounds[4 * mode..4 * mode + 4] {
                client
                    .upsert_cases(tokio_stream::iter(round.clone()))
                    .await
                    .expect("64 MB upload");
            }
            let upload = upload_started.elapsed().as_secs_f64();
            done.store(true, Ordering::Relaxed);
            let mut beside = beside.await.expect("probe");
            println!(
                "  {}",
                summary(
                    &format!(
                        "beside 4 UpsertCases of {:.1} MB ({upload:.1} s), {label}",
                        bytes as f64 / 1e6
                    ),
                    &mut beside
                )
            );
            let mut after = alone_for(upload).await;
            println!("  {}", summary(&format!("then alone as long ({upload:.1} s)"), &mut after));
        }
        // From another process, `repeats` times, each upload followed by Predict alone for as
        // long: one window of ~100 calls reads p99 off its one or two slowest calls, so the
        // windows are pooled (about as many calls on each side) and each window's p99 shown.
        let repeats = repeats();
        let (lines, mut read) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut uploader = std::process::Command::new(std::env::current_exe().expect("this binary"))
            .env("LOAD_UPLOAD_TO", &url)
            .env("LOAD_REPEATS", repeats.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("uploader process");
        let mut go = uploader.stdin.take().expect("uploader's stdin");
        let stdout = uploader.stdout.take().expect("uploader's stdout");
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        assert_eq!(read.recv().await.as_deref(), Some("ready"), "uploader starts");
        let (mut beside_all, mut alone_all) = (Vec::new(), Vec::new());
        let mut windows = Vec::new();
        // Pairs in the order beside-alone, alone-beside, … (ABBA), so what an upload leaves
        // behind (its last commits, freed buffers) falls on each side as often; an alone
        // window that comes first lasts as long as the previous upload.
        let mut upload = 0.0;
        for repeat in 0..repeats {
            let alone_first = repeat % 2 == 1;
            let mut after = if alone_first { alone_for(upload).await } else { Vec::new() };
            let done = Arc::new(AtomicBool::new(false));
            let beside = probe(own.clone(), Arc::clone(&done));
            std::io::Write::write_all(&mut go, b"go\n").expect("start the uploader");
            let finished = read.recv().await.expect("uploader finishes");
            done.store(true, Ordering::Relaxed);
            let mut beside = beside.await.expect("probe");
            upload = finished.parse().expect("the uploader's seconds");
            if !alone_first {
                after = alone_for(upload).await;
            }
            beside.sort_by(f64::total_cmp);
            after.sort_by(f64::total_cmp);
            windows.push(format!(
                "{upload:.1} s: {:.1} / {:.1}",
                1e3 * percentile(&beside, 0.99),
                1e3 * percentile(&after, 0.99)
            ));
            beside_all.extend(beside);
            alone_all.extend(after);
        }
        drop(go);
        assert!(uploader.wait().expect("uploader exits").success());
        println!(
            "  from another process (nice 19), {repeats} × (4 UpsertCases of {:.1} MB, then alone as long):",
            bytes as f64 / 1e6
        );
        println!("    {}", summary("beside, pooled", &mut beside_all));
        println!("    {}", summary("alone, pooled", &mut alone_all));
        println!("    p99 beside / alone by window (ms): {}", windows.join("; "));
        for q in [0.5, 0.99] {
            let (difference, low, high) = difference_interval(&beside_all, &alone_all, q);
            println!(
                "    p{:.0} beside − alone: {:+.2} ms (95% bootstrap interval {:+.2} … {:+.2} ms)",
                100.0 * q,
                1e3 * difference,
                1e3 * low,
                1e3 * high
            );
        }
    });
    println!("load average after: {}", load_average());
}

/// Uploads of new cases (32 × 2 MB each), so each decodes, hashes and writes: `rounds` name
/// them apart.
fn upload_rounds(
    cases: &[pb::Case],
    rounds: std::ops::Range<usize>,
) -> Vec<Vec<pb::UpsertCaseRequest>> {
    rounds
        .map(|round| {
            (0..32)
                .map(|i| {
                    let mut case = cases[i].clone();
                    case.case_id = format!("big_{round}_{i:02}");
                    case.image = file(noise_png(1024, (100 * round + i) as u64));
                    case.masks.clear();
                    pb::UpsertCaseRequest { case: Some(case) }
                })
                .collect()
        })
        .collect()
}

/// The uploader process of part 2: `LOAD_REPEATS` times, four uploads to `url` when a line
/// arrives on its stdin, saying `ready` before the first and the seconds each took after it.
/// It stands for another machine of the ward, so it runs at the lowest priority (`nice`
/// 19): it still takes any core the server leaves idle, but no longer competes with the
/// server as an equal. Its images are made before `ready`, so no window times their making.
fn upload_to(url: &str) {
    // SAFETY: setpriority only reads its arguments; it applies to this thread, and the
    // threads started below inherit it.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    let repeats = repeats();
    let dir = tempfile::tempdir().expect("temporary folder");
    explainme_phantom::Phantom::params()
        .cases(32)
        .seed(SEED)
        .write(&dir.path().join("cohort"), || {})
        .expect("phantoms");
    let cohort = Cohort::open(dir.path().join("cohort")).expect("cohort");
    let cases = wire_cases(&cohort, "load");
    // Rounds 8 and up, apart from the in-process uploads' 0..8; two threads make them.
    let (first, last) = (8 + 2 * repeats, 8 + 4 * repeats);
    let halves: Vec<Vec<Vec<pb::UpsertCaseRequest>>> = std::thread::scope(|scope| {
        let cases = &cases;
        let early = scope.spawn(move || upload_rounds(cases, 8..first));
        let late = upload_rounds(cases, first..last);
        vec![early.join().expect("images"), late]
    });
    let mut rounds = halves.into_iter().flatten();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut client = ExplainerServiceClient::new(support::connect(url).await)
            .max_encoding_message_size(usize::MAX);
        println!("ready");
        let mut go = std::io::stdin().lines();
        for _ in 0..repeats {
            if go.next().is_none() {
                break;
            }
            let started = Instant::now();
            for round in rounds.by_ref().take(4) {
                client
                    .upsert_cases(tokio_stream::iter(round))
                    .await
                    .expect("64 MB upload");
            }
            println!("{:.1}", started.elapsed().as_secs_f64());
        }
    });
}
