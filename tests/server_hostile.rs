//! Regressions from a hostile run against the real server (issue 8): inputs that were stored
//! or answered wrongly, stored data that could no longer be read back, and small requests
//! that cost gigabytes. Each check failed on the code before its fix.

mod server_support;

use std::io::Write;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme_cohort::{Feature, FeatureKind, FeatureSchema, Role};
use explainme_imaging::codec::nifti;
use explainme_imaging::{Format, Image, Shape, encode_image};
use explainme_onnx::Dim;
use explainme_onnx::builder::{self, GraphBuilder};
use prost::Message;
use server_support::{Running, audit_rows, hounsfield, phantom_cases, put_renal_schema, upsert};
use tonic::Code;
use tonic::transport::Channel;

const LIMIT: usize = ServerConfig::DEFAULT_MAX_MESSAGE_BYTES;

fn encoded(format: pb::ImageFormat, data: Vec<u8>) -> Option<pb::Image> {
    Some(pb::Image {
        source: Some(pb::image::Source::Encoded(pb::EncodedImage {
            format: format.into(),
            data,
        })),
    })
}

fn case(case_id: &str, schema: &str, image: Option<pb::Image>) -> pb::Case {
    pb::Case {
        cohort: "hostile".into(),
        case_id: case_id.into(),
        schema: schema.into(),
        image,
        labels: vec![],
        masks: vec![],
    }
}

async fn put_schema(
    client: &mut ExplainerServiceClient<Channel>,
    name: &str,
    schema: FeatureSchema,
) -> Result<pb::PutFeatureSchemaResponse, tonic::Status> {
    client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: name.into(),
            schema: Some(schema.into()),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn list_all_cases(client: &mut ExplainerServiceClient<Channel>) -> (usize, usize) {
    let (mut cases, mut pages, mut token) = (0, 0, String::new());
    loop {
        let page = client
            .list_cases(pb::ListCasesRequest {
                cohort: "hostile".into(),
                page_size: 0,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        cases += page.cases.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            return (cases, pages);
        }
        token = page.next_page_token;
    }
}

fn categorical(name: &str, states: &[&str]) -> Feature {
    Feature {
        name: name.into(),
        kind: FeatureKind::Categorical {
            states: states.iter().map(|s| (*s).to_owned()).collect(),
        },
        role: Role::Feature,
        description: None,
    }
}

/// A 16-bit grayscale PNG header claiming `side × side` pixels and the first compressed rows:
/// what a decoder sees before it allocates.
fn png_claiming(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[16, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&vec![0u8; (side as usize * 2 + 1) * 4])
        .unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_images_with_non_finite_voxels_or_huge_headers_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();
    put_schema(&mut client, "renal", FeatureSchema::renal_demo())
        .await
        .unwrap();

    let mut nan = Image::new(Shape::d2(4, 4), vec![10.0; 16]).unwrap();
    nan.voxels_mut()[5] = f32::NAN;
    let mut slope = nifti::encode(
        &Image::new(Shape::d3(2, 2, 2), vec![40.0; 8]).unwrap(),
        nifti::Datatype::Int16,
        false,
    )
    .unwrap();
    slope[112..116].copy_from_slice(&1e38f32.to_le_bytes());
    let refused = [
        (
            encoded(
                pb::ImageFormat::Npy,
                encode_image(&nan, Format::Npy).unwrap(),
            ),
            Code::InvalidArgument,
            "non-finite voxel (NaN) at flat index 5",
        ),
        (
            encoded(
                pb::ImageFormat::Nifti,
                encode_image(&nan, Format::NiftiGz).unwrap(),
            ),
            Code::InvalidArgument,
            "non-finite voxel (NaN)",
        ),
        (
            encoded(pb::ImageFormat::Nifti, slope),
            Code::InvalidArgument,
            "non-finite voxel (inf)",
        ),
        (
            encoded(pb::ImageFormat::Png16, png_claiming(16384)),
            Code::ResourceExhausted,
            "over the memory budget of 1 GiB",
        ),
    ];
    for (image, code, needle) in refused {
        let error = upsert(&mut client, vec![case("c1", "renal", image)])
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{error:?}");
        assert!(error.message().contains(needle), "{}", error.message());
    }
    assert_eq!(
        list_all_cases(&mut client).await,
        (0, 1),
        "nothing was stored"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_stored_can_be_answered_under_a_small_message_limit() {
    let limit = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), limit).await;
    let mut client = running.client();

    // A case whose request fits the limit but whose GetCase answer (the image as .npy, with
    // its header) would not: refused, since it could never be read back.
    put_schema(&mut client, "renal", FeatureSchema::renal_demo())
        .await
        .unwrap();
    let fits = |n: usize| {
        pb::UpsertCaseRequest {
            case: Some(case(
                "big",
                "renal",
                hounsfield(&[1, n as u64], vec![0.0; n]),
            )),
        }
        .encoded_len()
            <= limit - 64
    };
    let n = (1..limit / 4).rev().find(|&n| fits(n)).unwrap();
    let error = upsert(
        &mut client,
        vec![case(
            "big",
            "renal",
            hounsfield(&[1, n as u64], vec![0.0; n]),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert!(
        error.message().contains("GetCase would answer"),
        "{}",
        error.message()
    );

    // 70 cases with long state names: one default page of them is over the limit, so pages
    // are cut by bytes and every case is still listed.
    let long = |tag: &str| format!("{tag}{}", "x".repeat(1500));
    let states: Vec<String> = ["a", "b"].iter().map(|t| long(t)).collect();
    let state_refs: Vec<&str> = states.iter().map(String::as_str).collect();
    put_schema(
        &mut client,
        "wordy",
        FeatureSchema {
            features: vec![categorical("finding", &state_refs)],
        },
    )
    .await
    .unwrap();
    let cases: Vec<pb::Case> = (0..70)
        .map(|i| pb::Case {
            labels: vec![pb::Label {
                feature: "finding".into(),
                value: Some(pb::label::Value::State(states[i % 2].clone())),
            }],
            ..case(
                &format!("w{i:03}"),
                "wordy",
                hounsfield(&[2, 2], vec![0.0; 4]),
            )
        })
        .collect();
    for chunk in cases.chunks(20) {
        upsert(&mut client, chunk.to_vec()).await.unwrap();
    }
    let (listed, pages) = list_all_cases(&mut client).await;
    assert_eq!(listed, 70);
    assert!(pages >= 2, "{pages} pages");

    // ListFeatureSchemas pages by count and by bytes too: 150 schemas, two of them wordy.
    for i in 0..148 {
        put_schema(
            &mut client,
            &format!("s{i:03}"),
            FeatureSchema {
                features: vec![categorical("fat", &["absent", "present"])],
            },
        )
        .await
        .unwrap();
    }
    let (mut schemas, mut pages, mut token) = (0, 0, String::new());
    loop {
        let page = client
            .list_feature_schemas(pb::ListFeatureSchemasRequest {
                page_size: 0,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.schemas.len() <= 100);
        schemas += page.schemas.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((schemas, pages), (150, 2));

    // Tokens are checked, not taken as a case id to list after.
    for garbage in ["zzz", "hostile", "other/w010", "hostile/a b"] {
        let error = client
            .list_cases(pb::ListCasesRequest {
                cohort: "hostile".into(),
                page_size: 0,
                page_token: garbage.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{garbage}");
        assert!(
            error.message().starts_with("page_token:"),
            "{}",
            error.message()
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_that_collide_or_say_nothing_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();
    let bad = [
        (FeatureSchema { features: vec![] }, "at least one feature"),
        (
            FeatureSchema {
                features: vec![categorical("fat", &["absent", ""])],
            },
            "state 1 is empty",
        ),
        (
            FeatureSchema {
                features: vec![categorical("cnn_malignant", &["no", "yes"])],
            },
            "reserved",
        ),
    ];
    for (schema, needle) in bad {
        let error = put_schema(&mut client, "bad", schema).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains(needle), "{}", error.message());
    }
    running.stop().await;
}

/// The bytes of `builder::expanding(side)`: a valid 2D card's graph whose size only a run
/// reveals.
fn expanding_model(side: i64) -> Vec<u8> {
    builder::expanding(side).0.model().unwrap().to_bytes()
}

/// `builder::expanding`'s card as JSON.
fn point_card() -> String {
    builder::expanding(1).1.to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_that_cannot_run_are_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();
    let register = |name: &str, onnx: Vec<u8>, card: &str| pb::RegisterModelRequest {
        name: name.into(),
        onnx,
        card_json: card.into(),
    };

    // The small expansion registers; 16384² floats (1 GiB) do not fit ONNX Runtime's arena,
    // capped at the budget (the process's first, 1 GiB by default).
    client
        .register_model(register("point", expanding_model(8), &point_card()))
        .await
        .unwrap();
    let error = client
        .register_model(register("expander", expanding_model(16384), &point_card()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert!(
        error
            .message()
            .contains("does not fit the memory budget of"),
        "{}",
        error.message()
    );

    // Two graph inputs, duplicate class names, and names that would forge log lines.
    let n = || Dim::Symbolic("N".into());
    let mut g = GraphBuilder::new("two inputs");
    g.input("x", &[n(), Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(1)])
        .input("y", &[n(), Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(1)])
        .node("Add", &["x", "y"], &["s"], vec![])
        .node("Flatten", &["s"], &["f"], vec![builder::int("axis", 1)])
        .node("Sigmoid", &["f"], &["prob"], vec![])
        .output("prob", &[n(), Dim::Fixed(1)]);
    let two_inputs = g.model().unwrap().to_bytes();
    let mut twice = builder::expanding(1).1;
    twice.class_names = vec!["malignant".into(); 2];
    let twice = twice.to_json();
    let bad = [
        register("two", two_inputs, &point_card()),
        register("twice", expanding_model(8), &twice),
        register("evil\nERROR forged line", expanding_model(8), &point_card()),
        register(&"n".repeat(5 << 20), expanding_model(8), &point_card()),
    ];
    let needles = ["the graph has 2 inputs", "listed twice", "name:", "name:"];
    for (request, needle) in bad.into_iter().zip(needles) {
        let error = client.register_model(request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert!(
            error.message().contains(needle),
            "{}",
            &error.message()[..200.min(error.message().len())]
        );
        assert!(
            error.message().len() < 1024,
            "the message does not echo a 5 MB name"
        );
    }
    let models = client
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(models.models.len(), 1, "only the runnable model is stored");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_refuses_hounsfield_units_as_model_ready_input() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();
    let (model, card) = builder::seeded_cnn(7).unwrap();
    let id = client
        .register_model(pb::RegisterModelRequest {
            name: "seeded".into(),
            onnx: model.to_bytes(),
            card_json: card.to_json(),
        })
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap()
        .model_id;
    let shape: Vec<u64> = card.input_shape(1).iter().map(|&d| d as u64).collect();
    let error = client
        .predict(pb::PredictRequest {
            model_id: id,
            input: Some(pb::FloatTensor {
                shape,
                data: vec![40.0; 64 * 64],
            }),
            layers: vec![],
            prediction_only: true,
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
    assert!(
        error.message().contains("far outside [0, 1]"),
        "{}",
        error.message()
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_that_would_echo_huge_values_are_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();
    put_schema(&mut client, "renal", FeatureSchema::renal_demo())
        .await
        .unwrap();
    let huge = "x".repeat(5 << 20);
    let lookup = client
        .get_feature_schema(pb::GetFeatureSchemaRequest { name: huge.clone() })
        .await
        .unwrap_err();
    assert_eq!(lookup.code(), Code::NotFound, "{lookup:?}");
    let label = upsert(
        &mut client,
        vec![pb::Case {
            labels: vec![pb::Label {
                feature: "macroscopic_fat".into(),
                value: Some(pb::label::Value::State(huge)),
            }],
            ..case("c1", "renal", hounsfield(&[2, 2], vec![0.0; 4]))
        }],
    )
    .await
    .unwrap_err();
    assert_eq!(label.code(), Code::InvalidArgument, "{label:?}");
    for status in [lookup, label] {
        assert!(
            status.message().len() < 1200,
            "{} bytes",
            status.message().len()
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn a_zero_message_limit_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let error = server::bind(ServerConfig {
        max_message_bytes: 0,
        ..ServerConfig::loopback(dir.path())
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("below the minimum"), "{error}");
}

/// A burst beyond `--max-concurrent-calls` is refused at once with RESOURCE_EXHAUSTED (not
/// queued), health still answers, and the slot frees when the call ends; a stream beyond
/// `--max-cases-per-stream` is cut with the count of what it stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_limits_are_refused_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_config(ServerConfig {
        max_concurrent_calls: 1,
        max_cases_per_stream: 2,
        ..ServerConfig::loopback(dir.path().join("data"))
    })
    .await;
    let mut client = running.client();
    put_renal_schema(&mut client).await;

    // An UpsertCases stream left open holds the only slot. The holder and a probe race for
    // it, so either may be the one refused: retry until the holder has it.
    let mut holding = None;
    for _ in 0..50 {
        let (send, receive) = tokio::sync::mpsc::channel::<pb::UpsertCaseRequest>(1);
        let mut holder = running.client();
        let held = tokio::spawn(async move {
            holder
                .upsert_cases(tokio_stream::wrappers::ReceiverStream::new(receive))
                .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        match client.list_models(pb::ListModelsRequest {}).await {
            Err(busy) if !held.is_finished() => {
                holding = Some((send, held, busy));
                break;
            }
            _ => {
                drop(send);
                let _ = held.await;
            }
        }
    }
    let (send, held, busy) = holding.expect("an open stream takes the only slot");
    assert_eq!(busy.code(), Code::ResourceExhausted, "{busy:?}");
    assert!(
        busy.message().contains("--max-concurrent-calls"),
        "{busy:?}"
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(running.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health checks are never refused");
    drop(send);
    let answer = held.await.unwrap().unwrap().into_inner();
    assert_eq!(answer.created, 0);
    client
        .list_models(pb::ListModelsRequest {})
        .await
        .expect("the slot is free again");

    let (_, cases) = phantom_cases(&dir.path().join("cohort"), "limits", 3);
    let cut = upsert(&mut client, cases).await.unwrap_err();
    assert_eq!(cut.code(), Code::ResourceExhausted, "{cut:?}");
    assert!(
        cut.message().contains("--max-cases-per-stream")
            && cut
                .message()
                .contains("(2 earlier cases of this stream stored: 2 created"),
        "{}",
        cut.message()
    );
    running.stop().await;
}

/// A call running past `--call-timeout` (here an upload stream left open) is answered
/// DEADLINE_EXCEEDED naming the flag, and its slot under `--max-concurrent-calls` is free
/// again; a client's own shorter deadline ends the call too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_their_deadline_are_ended() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_config(ServerConfig {
        max_concurrent_calls: 1,
        call_timeout: std::time::Duration::from_millis(300),
        ..ServerConfig::loopback(dir.path().join("data"))
    })
    .await;
    let mut client = running.client();
    put_renal_schema(&mut client).await;

    let (send, receive) = tokio::sync::mpsc::channel::<pb::UpsertCaseRequest>(1);
    let late = client
        .upsert_cases(tokio_stream::wrappers::ReceiverStream::new(receive))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::DeadlineExceeded, "{late:?}");
    assert!(
        late.message()
            .contains("longer than 300ms, the server's --call-timeout"),
        "{late:?}"
    );
    drop(send);
    client
        .list_models(pb::ListModelsRequest {})
        .await
        .expect("the slot is free again");

    let (_send, receive) = tokio::sync::mpsc::channel::<pb::UpsertCaseRequest>(1);
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(receive));
    request.set_timeout(std::time::Duration::from_millis(100));
    let late = client.upsert_cases(request).await.unwrap_err();
    eprintln!("client deadline: {late:?}");
    assert!(
        matches!(late.code(), Code::DeadlineExceeded | Code::Cancelled)
            && !late.message().contains("--call-timeout"),
        "the client's deadline, not the server's, ended it: {late:?}"
    );
    // The client gave up on its own timer; the server's (the same deadline, read from the
    // `grpc-timeout` header) fires a moment later and frees the slot.
    let mut freed = client.list_models(pb::ListModelsRequest {}).await;
    for _ in 0..50 {
        if freed.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        freed = client.list_models(pb::ListModelsRequest {}).await;
    }
    freed.expect("the slot is free again");
    running.stop().await;

    // Both calls are in the audit trail. The one the server's deadline ended was dropped
    // before answering: CANCELLED. The client-deadline one races: the server's timer
    // (CANCELLED), or the handler seeing the request stream end as the client left (OK, with
    // nothing stored).
    let rows = audit_rows(&dir.path().join("data"), 5).await;
    let upserts: Vec<&str> = rows
        .iter()
        .filter(|r| r.entry.rpc == "UpsertCases")
        .map(|r| r.entry.code.as_str())
        .collect();
    assert!(
        matches!(upserts[..], ["CANCELLED", "CANCELLED" | "OK"]),
        "{rows:?}"
    );
}
