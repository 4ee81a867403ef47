//! The real `explainme serve` process.
//!
//! Durability under SIGKILL: the server, streaming cases in small
//! UpsertCases streams, is killed with SIGKILL at a random moment (20 times, seeded), then
//! restarted on the same data directory. Every case of a stream whose answer arrived (an
//! acknowledged case) must come back intact — the same image bytes and labels — and the
//! store must pass its own check (SQLite's integrity check, every named blob present and
//! hashing to its name) with no orphan left after the last restart.
//!
//! Health without ONNX Runtime: the service says NOT_SERVING, so no load balancer sends it
//! work no model can do.

#[allow(dead_code)] // the in-process server is not used here: the process is
mod server_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme_rng::Random;
use explainme_store::Store;
use server_support::{phantom_cases, put_renal_schema, upsert};
use tonic::transport::Channel;

const ROUNDS: u64 = 20;
/// Cases per UpsertCases stream: a stream is acknowledged as a whole.
const PER_STREAM: usize = 3;

/// The server process, the address its log announced, and how many files left by
/// interrupted writes it said it removed when it opened the store.
struct Server {
    child: Child,
    address: String,
    collected: usize,
}

impl Server {
    fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    fn start_with(data: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_explainme"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start explainme serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut collected = 0;
        let address = loop {
            let line = lines
                .next()
                .expect("the server announces its address")
                .expect("a log line");
            if line.contains("interrupted writes")
                && let Some(at) = line.find("files=")
            {
                collected = line[at + "files=".len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a count");
            }
            if line.contains(" serving") {
                let at = line.find("address=").expect("address in the log") + "address=".len();
                break line[at..]
                    .split_whitespace()
                    .next()
                    .expect("an address")
                    .to_owned();
            }
        };
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            address,
            collected,
        }
    }

    async fn client(&self) -> ExplainerServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        ExplainerServiceClient::new(channel)
    }
}

/// What a case was sent as (labels in feature order, as GetCase answers them).
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    image: Option<pb::Image>,
    labels: Vec<pb::Label>,
}

impl Sent {
    fn of(image: Option<pb::Image>, mut labels: Vec<pb::Label>) -> Sent {
        labels.sort_by(|a, b| a.feature.cmp(&b.feature));
        Sent { image, labels }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_cases_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_, templates) = phantom_cases(&dir.path().join("cohort"), "crash", 24);
    let mut random = Random::new(2026, 13);
    // Per acknowledged id, what it may read back as: its acknowledged content, or a
    // replacement sent later in a stream the kill cut short (which may have committed).
    let mut acknowledged: BTreeMap<String, Vec<Sent>> = BTreeMap::new();
    let mut sent_streams = 0usize;
    let mut collected = 0usize;

    for round in 0..ROUNDS {
        let mut server = Server::start(&data);
        collected += server.collected;
        let mut client = server.client().await;
        if round == 0 {
            put_renal_schema(&mut client).await;
        }
        // SIGKILL after 20–600 ms of uploading, from another thread, as a power cut would.
        let delay = Duration::from_millis(20 + random.below(580) as u64);
        let pid = server.child.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        let mut k = 0usize;
        loop {
            // New ids and, every other stream, a replacement of an earlier acknowledged case.
            let batch: Vec<pb::Case> = (0..PER_STREAM)
                .map(|i| {
                    let template = &templates[(k * PER_STREAM + i) % templates.len()];
                    let id = if i == 0 && k % 2 == 1 {
                        format!("case_r{round:02}_s{:03}_0", k - 1)
                    } else {
                        format!("case_r{round:02}_s{k:03}_{i}")
                    };
                    pb::Case {
                        case_id: id,
                        ..template.clone()
                    }
                })
                .collect();
            sent_streams += 1;
            match upsert(&mut client, batch.clone()).await {
                Ok(answer) => {
                    assert_eq!(answer.created + answer.replaced, PER_STREAM as u32);
                    for case in batch {
                        acknowledged.insert(case.case_id, vec![Sent::of(case.image, case.labels)]);
                    }
                }
                Err(_) => {
                    // Killed mid-stream.
                    for case in batch {
                        if let Some(possible) = acknowledged.get_mut(&case.case_id) {
                            possible.push(Sent::of(case.image, case.labels));
                        }
                    }
                    break;
                }
            }
            k += 1;
        }
        killer.join().unwrap();
        let _ = server.child.wait();
    }

    let server = Server::start(&data);
    collected += server.collected;
    let mut client = server.client().await;
    assert!(
        acknowledged.len() > 100,
        "{} cases acknowledged over {sent_streams} streams: too few to test anything",
        acknowledged.len()
    );
    for (id, possible) in &acknowledged {
        let case = client
            .get_case(pb::GetCaseRequest {
                cohort: "crash".into(),
                case_id: id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("acknowledged {id} lost: {e:?}"))
            .into_inner();
        let got = Sent::of(case.image, case.labels);
        assert!(
            possible.contains(&got),
            "{id} came back different from what was acknowledged"
        );
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let store = Store::open(&data).unwrap();
    assert_eq!(store.check().unwrap(), Vec::<String>::new());
    assert_eq!(
        store.collect_orphans().unwrap(),
        0,
        "opening collected every orphan"
    );
    println!(
        "{} acknowledged cases over {sent_streams} streams and {ROUNDS} SIGKILLs: all intact; \
         {collected} files of interrupted writes collected at the restarts, {} at the last open",
        acknowledged.len(),
        store.collected_at_open()
    );
}

#[tokio::test]
async fn health_says_not_serving_without_onnx_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(
        &dir.path().join("data"),
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    let channel = Channel::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = |service: &str| {
        let mut health = health.clone();
        let service = service.to_owned();
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest { service })
                .await
                .unwrap()
                .into_inner()
                .status
        }
    };
    let serving = i32::from(tonic_health::pb::health_check_response::ServingStatus::Serving);
    let not_serving = i32::from(tonic_health::pb::health_check_response::ServingStatus::NotServing);
    assert_eq!(status("explainme.v1.ExplainerService").await, not_serving);
    // The process itself is up: schemas and cases still work.
    assert_eq!(status("").await, serving);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
