//! End to end: feature schemas and cases through a real server and a real SQLite data
//! directory, plus server reflection in both versions.

mod server_support;

use explainme::pb;
use explainme::server::ServerConfig;
use explainme_cohort::FeatureSchema;
use explainme_imaging::{Format, Image, Shape};
use server_support::{Running, hounsfield, upsert};
use tonic::Code;

const LIMIT: usize = ServerConfig::DEFAULT_MAX_MESSAGE_BYTES;

fn state(feature: &str, value: &str) -> pb::Label {
    pb::Label {
        feature: feature.into(),
        value: Some(pb::label::Value::State(value.into())),
    }
}

fn number(feature: &str, value: f64) -> pb::Label {
    pb::Label {
        feature: feature.into(),
        value: Some(pb::label::Value::Number(value)),
    }
}

fn case(case_id: &str, labels: Vec<pb::Label>) -> pb::Case {
    pb::Case {
        cohort: "demo".into(),
        case_id: case_id.into(),
        schema: "renal".into(),
        image: hounsfield(&[2, 3], vec![-100.0, 0.0, 40.0, 150.0, 900.0, -1000.0]),
        labels,
        masks: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_answers_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream =
        v1::server_reflection_client::ServerReflectionClient::new(running.channel.clone())
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1 reflection did not list services");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"explainme.v1.ExplainerService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "explainme.v1.ExplainerService".into(),
            ),
        ),
    };
    let mut stream =
        v1alpha::server_reflection_client::ServerReflectionClient::new(running.channel.clone())
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
    let response = stream.message().await.unwrap().unwrap().message_response;
    assert!(
        matches!(
            response,
            Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref files))
                if !files.file_descriptor_proto.is_empty()
        ),
        "{response:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_and_cases_are_validated_stored_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), LIMIT).await;
    let mut client = running.client();

    let renal = pb::FeatureSchema::from(FeatureSchema::renal_demo());
    let put = client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "renal".into(),
            schema: Some(renal.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(put.created);
    let again = client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "renal".into(),
            schema: Some(renal.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    let fetched = client
        .get_feature_schema(pb::GetFeatureSchemaRequest {
            name: "renal".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.schema.as_ref(), Some(&renal));

    let mut twice = renal.clone();
    twice.features.push(twice.features[0].clone());
    let duplicate = client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "broken".into(),
            schema: Some(twice),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::InvalidArgument);
    assert!(
        duplicate.message().contains("size_cm"),
        "{}",
        duplicate.message()
    );
    let bad_name = client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "../renal".into(),
            schema: Some(renal.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_name.code(), Code::InvalidArgument);
    let missing = client
        .get_feature_schema(pb::GetFeatureSchemaRequest {
            name: "liver".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let listed = client
        .list_feature_schemas(pb::ListFeatureSchemasRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.schemas.len(), 1, "failed puts store nothing");

    // Three cases: a Hounsfield tensor with a lesion mask, a 16-bit PNG, and a bare one.
    let mut with_mask = case(
        "c001",
        vec![number("size_cm", 3.4), state("macroscopic_fat", "present")],
    );
    with_mask.masks = vec![pb::ConceptMask {
        concept: "lesion".into(),
        mask: hounsfield(&[2, 3], vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0]),
    }];
    let png_image = Image::new(Shape::d2(2, 2), vec![-1000.0, 0.0, 40.0, 1200.0]).unwrap();
    let mut png = case("c002", vec![state("enhancement", "avid")]);
    png.image = Some(pb::Image {
        source: Some(pb::image::Source::Encoded(pb::EncodedImage {
            format: pb::ImageFormat::Png16.into(),
            data: explainme_imaging::encode_image(&png_image, Format::Png).unwrap(),
        })),
    });
    let stored = upsert(
        &mut client,
        vec![
            with_mask,
            png,
            case("c003", vec![state("malignant", "yes")]),
        ],
    )
    .await
    .unwrap();
    assert_eq!((stored.created, stored.replaced), (3, 0));

    let got = client
        .get_case(pb::GetCaseRequest {
            cohort: "demo".into(),
            case_id: "c001".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.schema, "renal");
    assert_eq!(
        got.labels,
        vec![state("macroscopic_fat", "present"), number("size_cm", 3.4)],
        "labels come back ordered by feature, numbers as numbers"
    );
    let Some(pb::image::Source::Encoded(encoded)) = got.image.and_then(|i| i.source) else {
        panic!("images come back as the stored file");
    };
    assert_eq!(encoded.format, pb::ImageFormat::Npy as i32);
    let decoded = explainme_imaging::decode_image(&encoded.data, Some(Format::Npy)).unwrap();
    assert_eq!(decoded.voxels(), [-100.0, 0.0, 40.0, 150.0, 900.0, -1000.0]);
    assert_eq!(got.masks.len(), 1);
    assert_eq!(got.masks[0].concept, "lesion");

    let png_back = client
        .get_case(pb::GetCaseRequest {
            cohort: "demo".into(),
            case_id: "c002".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let Some(pb::image::Source::Encoded(encoded)) = png_back.image.and_then(|i| i.source) else {
        panic!("images come back as the stored file");
    };
    assert_eq!(encoded.format, pb::ImageFormat::Png16 as i32);
    let decoded = explainme_imaging::decode_image(&encoded.data, None).unwrap();
    assert_eq!(decoded.voxels(), png_image.voxels());

    // Each bad case names its message and its problem; the stream stops there.
    let bad_cases = [
        (
            case("c010", vec![state("macroscopic_fat", "maybe")]),
            Code::InvalidArgument,
            "maybe",
        ),
        (
            case("c011", vec![state("no_such_feature", "x")]),
            Code::InvalidArgument,
            "no_such_feature",
        ),
        (
            pb::Case {
                schema: "liver".into(),
                ..case("c012", vec![])
            },
            Code::NotFound,
            "liver",
        ),
        (
            pb::Case {
                image: hounsfield(&[2, 3], vec![0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0]),
                ..case("c013", vec![])
            },
            Code::InvalidArgument,
            "not finite",
        ),
        (
            pb::Case {
                masks: vec![pb::ConceptMask {
                    concept: "lesion".into(),
                    mask: hounsfield(&[3, 2], vec![0.0; 6]),
                }],
                ..case("c014", vec![])
            },
            Code::InvalidArgument,
            "shape",
        ),
        (
            pb::Case {
                image: Some(pb::Image {
                    source: Some(pb::image::Source::Encoded(pb::EncodedImage {
                        format: pb::ImageFormat::Png16.into(),
                        data: b"not a png".to_vec(),
                    })),
                }),
                ..case("c015", vec![])
            },
            Code::InvalidArgument,
            "case.image",
        ),
    ];
    for (bad, code, needle) in bad_cases {
        let error = upsert(&mut client, vec![case("c003", vec![]), bad])
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{error:?}");
        assert!(
            error.message().starts_with("message 1:"),
            "{}",
            error.message()
        );
        assert!(error.message().contains(needle), "{}", error.message());
        // The case before the bad one was stored, and the refusal says so.
        assert!(
            error
                .message()
                .ends_with("(1 earlier cases of this stream stored: 0 created, 1 replaced)"),
            "{}",
            error.message()
        );
    }
    client
        .put_feature_schema(pb::PutFeatureSchemaRequest {
            name: "other".into(),
            schema: Some(renal.clone()),
        })
        .await
        .unwrap();
    let mixed = upsert(
        &mut client,
        vec![pb::Case {
            schema: "other".into(),
            ..case("c020", vec![])
        }],
    )
    .await
    .unwrap_err();
    assert_eq!(mixed.code(), Code::InvalidArgument);
    assert!(
        mixed.message().contains("uses schema"),
        "{}",
        mixed.message()
    );

    let first = client
        .list_cases(pb::ListCasesRequest {
            cohort: "demo".into(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let ids = |page: &pb::ListCasesResponse| {
        page.cases
            .iter()
            .map(|c| c.case_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), ["c001", "c002"]);
    assert_eq!(first.cases[0].mask_concepts, ["lesion"]);
    let second = client
        .list_cases(pb::ListCasesRequest {
            cohort: "demo".into(),
            page_size: 2,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&second), ["c003"], "rejected cases were not stored");
    assert!(second.next_page_token.is_empty());

    client
        .delete_case(pb::DeleteCaseRequest {
            cohort: "demo".into(),
            case_id: "c002".into(),
        })
        .await
        .unwrap();
    let deleted = client
        .get_case(pb::GetCaseRequest {
            cohort: "demo".into(),
            case_id: "c002".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(deleted.code(), Code::NotFound);
    running.stop().await;

    let restarted = Running::start(dir.path(), LIMIT).await;
    let mut client = restarted.client();
    let all = client
        .list_cases(pb::ListCasesRequest {
            cohort: "demo".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&all), ["c001", "c003"]);
    assert_eq!(
        all.cases[0].labels,
        vec![state("macroscopic_fat", "present"), number("size_cm", 3.4)]
    );
    let replaced = upsert(&mut client, vec![case("c001", vec![])])
        .await
        .unwrap();
    assert_eq!((replaced.created, replaced.replaced), (0, 1));
    let large = pb::Case {
        image: hounsfield(&[160, 160], vec![40.0; 160 * 160]),
        ..case("c900", vec![])
    };
    upsert(&mut client, vec![large]).await.unwrap();
    restarted.stop().await;

    // A smaller limit after the fact: a stored case too large to send is refused up front.
    let strict = Running::start(dir.path(), ServerConfig::MIN_MAX_MESSAGE_BYTES).await;
    let mut client = strict.client();
    let small = client
        .get_case(pb::GetCaseRequest {
            cohort: "demo".into(),
            case_id: "c001".into(),
        })
        .await;
    assert!(small.is_ok(), "{small:?}");
    let too_large = client
        .get_case(pb::GetCaseRequest {
            cohort: "demo".into(),
            case_id: "c900".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(too_large.code(), Code::ResourceExhausted, "{too_large:?}");
    strict.stop().await;
}
