//! The Explainer's two budgets, measured in one run and printed beside their targets:
//!
//! - **fit** on 2,000 phantom cases (seed 2026, 2D 64×64, the demo CNN): the whole
//!   `Explainer::fit` in process, then the same fit through the server (FitExplainer,
//!   stage times read off the streamed progress events); target ≤ 60 s;
//! - **Explain** of one stored 64×64 case through gRPC in fast mode (fast Score-CAM with its
//!   8-step faithfulness curves, concepts, tree, rules, network, counterfactual, similar
//!   cases): p50 and p90 of 100 calls on loopback; target p50 ≤ 50 ms. The share of each
//!   part comes from `Prepared::explain_timed` in process on the same kind of explainer.
//!
//! `cargo bench --bench explainer` (a plain binary: each figure is one long operation, not a
//! micro-benchmark for criterion). The machine's load is printed with the figures.

use std::time::Instant;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::ServerConfig;
use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_explain::{CaseInput, ExplainOptions, Explainer, Stage};
use explainme_onnx::{Model, ModelCard};
use support::{load_average, models, percentile, register_demo, wire_cases};

mod support;

const CASES: usize = 2000;
const SEED: u64 = 2026;
const CALLS: usize = 100;

fn print_shares(title: &str, parts: &[(String, f64)]) {
    let total: f64 = parts.iter().map(|(_, s)| s).sum();
    println!("{title}: {total:.2} s");
    for (part, seconds) in parts {
        println!(
            "  {part:<18} {seconds:>8.3} s  {:>5.1}%",
            100.0 * seconds / total.max(1e-12)
        );
    }
}

fn main() {
    println!("load average before: {}", load_average());
    let dir = tempfile::tempdir().expect("temporary folder");
    let cohort_dir = dir.path().join("cohort");
    explainme_phantom::Phantom::params()
        .cases(CASES)
        .seed(SEED)
        .write(&cohort_dir, || {})
        .expect("phantoms");
    let cohort = Cohort::open(&cohort_dir).expect("cohort");
    let model = Model::from_path(models().join("renal_cnn.onnx")).expect("model");
    let card = ModelCard::from_json(
        &std::fs::read_to_string(models().join("renal_cnn.card.json")).expect("card"),
    )
    .expect("card");
    let params = Explainer::params().seed(SEED).saliency("scorecam");

    // 1. Fit in process, stage by stage.
    let mut marks: Vec<(Stage, Instant)> = Vec::new();
    let start = Instant::now();
    let explainer = params
        .fit(&model, &card, &cohort, &MemoryBudget::default(), &mut |p| {
            if marks.last().map(|m| m.0) != Some(p.stage) {
                marks.push((p.stage, Instant::now()));
            }
            true
        })
        .expect("fit");
    let end = Instant::now();
    let mut parts = Vec::new();
    for (i, (stage, at)) in marks.iter().enumerate() {
        let next = marks.get(i + 1).map_or(end, |m| m.1);
        parts.push((stage.name().to_owned(), (next - *at).as_secs_f64()));
    }
    println!();
    print_shares(
        &format!(
            "Explainer::fit on {CASES} cases in process (target ≤ 60 s), wall {:.2} s",
            (end - start).as_secs_f64()
        ),
        &parts,
    );

    // 2. Explain in process: the share of each part (fast mode, heatmap on).
    let prepared = explainer
        .prepare(&model, MemoryBudget::default())
        .expect("prepare");
    let case = &cohort.cases[0];
    let input = CaseInput {
        reference: case.id.clone(),
        in_cohort: true,
        image: explainme_imaging::read_image(cohort.image_path(case)).expect("image"),
        labels: case.labels.clone(),
        masks: [(
            "lesion".to_owned(),
            explainme_imaging::read_mask(cohort.mask_path(case, "lesion")).expect("mask"),
        )]
        .into(),
    };
    let options = ExplainOptions {
        heatmap: true,
        fast: true,
    };
    let mut sums: Vec<(String, f64)> = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..CALLS {
        let (_, timings) = prepared.explain_timed(&input, options).expect("explain");
        totals.push(timings.iter().map(|t| t.1).sum::<f64>());
        if sums.is_empty() {
            sums = timings
                .iter()
                .map(|(p, _)| ((*p).to_owned(), 0.0))
                .collect();
        }
        for (sum, (_, t)) in sums.iter_mut().zip(&timings) {
            sum.1 += t / CALLS as f64;
        }
    }
    totals.sort_by(f64::total_cmp);
    println!();
    print_shares(
        &format!(
            "Prepared::explain in process, fast Score-CAM, mean of {CALLS} (p50 {:.1} ms)",
            1e3 * percentile(&totals, 0.5)
        ),
        &sums,
    );

    // 3. The same through the server.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let data_dir = dir.path().join("data");
    runtime.block_on(async {
        let channel = support::serve(ServerConfig::loopback(data_dir.clone())).await;
        let mut client = ExplainerServiceClient::new(channel);
        let model_id = register_demo(&mut client, model.to_bytes()).await;
        let messages = wire_cases(&cohort, "bench")
            .into_iter()
            .map(|case| pb::UpsertCaseRequest { case: Some(case) });
        client.upsert_cases(tokio_stream::iter(messages)).await.expect("upsert");

        let start = Instant::now();
        let mut stream = client
            .fit_explainer(pb::FitExplainerRequest {
                model_id,
                cohort: "bench".into(),
                feature_layers: Vec::new(),
                params: Some(pb::ExplainerParams {
                    seed: SEED,
                    saliency: pb::SaliencyMethod::ScoreCam.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("fit")
            .into_inner();
        let mut marks: Vec<(String, Instant)> = Vec::new();
        let mut id = String::new();
        while let Some(event) = stream.message().await.expect("progress") {
            match event.event.expect("event") {
                pb::fit_progress::Event::StageStarted(s) => marks.push((
                    pb::FitStage::try_from(s.stage).map_or("?".into(), |s| s.as_str_name().to_owned()),
                    Instant::now(),
                )),
                pb::fit_progress::Event::Finished(info) => id = info.explainer_id,
                pb::fit_progress::Event::Advanced(_) => {}
            }
        }
        let end = Instant::now();
        let parts: Vec<(String, f64)> = marks
            .iter()
            .enumerate()
            .map(|(i, (stage, at))| (stage.clone(), (marks.get(i + 1).map_or(end, |m| m.1) - *at).as_secs_f64()))
            .collect();
        println!();
        print_shares(
            &format!(
                "FitExplainer through gRPC on {CASES} stored cases (target ≤ 60 s), wall {:.2} s incl. reading the cohort from the store",
                (end - start).as_secs_f64()
            ),
            &parts,
        );

        let request = pb::ExplainRequest {
            explainer_id: id,
            targets: vec![pb::ExplainTarget {
                target: Some(pb::explain_target::Target::CaseId(case.id.clone())),
            }],
            include_heatmap: true,
            fast: true,
        };
        // The first call builds the ONNX Runtime sessions; it is reported on its own.
        let first = Instant::now();
        client.explain(request.clone()).await.expect("explain");
        let first = first.elapsed().as_secs_f64();
        let mut times = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t = Instant::now();
            client.explain(request.clone()).await.expect("explain");
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!();
        println!(
            "Explain through gRPC, one stored 64×64 case, fast mode with heatmap: p50 {:.1} ms, \
             p90 {:.1} ms over {CALLS} calls (target p50 ≤ 50 ms); first call {:.1} ms",
            1e3 * percentile(&times, 0.5),
            1e3 * percentile(&times, 0.9),
            1e3 * first
        );
    });
    println!("load average after: {}", load_average());
}
