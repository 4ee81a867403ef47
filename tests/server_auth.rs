//! Who may do what, against a real server on loopback started with `--auth` (a tokens file
//! written by `explainme token add`'s function): over gRPC, no or an unknown token is
//! UNAUTHENTICATED and a clinician registering a model PERMISSION_DENIED, while health stays
//! open and reflection can be switched off; on the workbench, pages need a sign-in, a form
//! without its session's CSRF token is refused with 403, and what a signed-in reader stores
//! carries the signed-in name.

mod server_support;

use std::path::Path;

use explainme::auth::{Role, add_token};
use explainme::pb;
use explainme::server::ServerConfig;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use server_support::{Running, audit_rows, models};
use tonic::Code;
use tonic::metadata::MetadataValue;

async fn start(data: &Path, tokens: &Path, reflection: bool) -> Running {
    Running::start_config(ServerConfig {
        http: Some("127.0.0.1:0".parse().unwrap()),
        auth: Some(tokens.to_path_buf()),
        reflection,
        ..ServerConfig::loopback(data)
    })
    .await
}

/// A request with `token` as its bearer token (none when empty).
fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if !token.is_empty() {
        let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn register_request() -> pb::RegisterModelRequest {
    pb::RegisterModelRequest {
        name: "renal_demo".into(),
        onnx: std::fs::read(models().join("renal_cnn.onnx")).unwrap(),
        card_json: std::fs::read_to_string(models().join("renal_cnn.card.json")).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_need_a_token_of_the_right_role() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let clinician = add_token(&tokens, "dr-ada", Role::Clinician).unwrap();
    let admin = add_token(&tokens, "pacs-bridge", Role::Admin).unwrap();
    let running = start(&dir.path().join("data"), &tokens, false).await;
    let mut client = running.client();

    let code = |r: Result<tonic::Response<_>, tonic::Status>| r.map(|_| ()).map_err(|s| s.code());
    let list = || pb::ListModelsRequest {};
    assert_eq!(
        code(client.list_models(with_token(list(), "")).await),
        Err(Code::Unauthenticated)
    );
    assert_eq!(
        code(client.list_models(with_token(list(), "em_forged")).await),
        Err(Code::Unauthenticated)
    );
    assert_eq!(
        code(client.list_models(with_token(list(), &clinician)).await),
        Ok(())
    );
    let denied = client
        .register_model(with_token(register_request(), &clinician))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("admin"), "{}", denied.message());
    let registered = client
        .register_model(with_token(register_request(), &admin))
        .await
        .unwrap()
        .into_inner();
    assert!(registered.model.is_some());
    // A clinician reads what an admin registered.
    let models = client
        .list_models(with_token(list(), &clinician))
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(models.len(), 1);

    // Health needs no token; reflection was switched off.
    let mut health = tonic_health::pb::health_client::HealthClient::new(running.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            running.channel.clone(),
        );
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let off = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap_err();
    assert_eq!(off.code(), Code::Unimplemented, "{off:?}");
    running.stop().await;

    // Every ExplainerService call is in the audit trail, refused ones too, with who made it
    // (health checks and reflection are not recorded).
    let rows = audit_rows(&dir.path().join("data"), 6).await;
    let seen: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            let e = &r.entry;
            (
                e.rpc.as_str(),
                e.code.as_str(),
                e.who.as_str(),
                e.role.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ListModels", "UNAUTHENTICATED", "", ""),
            ("ListModels", "UNAUTHENTICATED", "", ""),
            ("ListModels", "OK", "dr-ada", "clinician"),
            ("RegisterModel", "PERMISSION_DENIED", "dr-ada", "clinician"),
            ("RegisterModel", "OK", "pacs-bridge", "admin"),
            ("ListModels", "OK", "dr-ada", "clinician"),
        ]
    );
    for row in &rows {
        assert_eq!(row.entry.via, "grpc");
        assert!(row.entry.peer.starts_with("127.0.0.1:"), "{row:?}");
        assert!(
            row.entry.at.starts_with("20") && row.entry.at.ends_with('Z'),
            "{row:?}"
        );
    }

    // `explainme audit` reads it beside the data directory, filtered by who.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(["audit", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--who", "pacs-bridge", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["rpc"], "RegisterModel");
    assert_eq!(listed[0]["role"], "admin");
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(["audit", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(
        text.lines()
            .nth(3)
            .unwrap()
            .contains("dr-ada grpc RegisterModel PERMISSION_DENIED"),
        "{text}"
    );
}

/// A tiny HTTP client that keeps one cookie, as a browser would.
struct Browser {
    client: Client<HttpConnector, String>,
    base: String,
    cookie: Option<String>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    async fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie.clone());
        }
        let response = self
            .client
            .request(request.body(body).unwrap())
            .await
            .unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The CSRF token of the first form of a page.
fn csrf(page: &str) -> String {
    let at =
        page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// An accept-candidate form with `csrf`.
fn judgement(csrf: &str) -> Vec<(&str, &str)> {
    vec![
        ("csrf", csrf),
        ("antecedent", "macroscopic_fat=present"),
        ("consequent", "malignant=no"),
        ("decision", "accept"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_signs_readers_in_and_refuses_forged_forms() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let clinician = add_token(&tokens, "dr-ada", Role::Clinician).unwrap();
    let running = start(&dir.path().join("data"), &tokens, true).await;
    let mut browser = Browser {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: running.workbench.clone().unwrap(),
        cookie: None,
    };

    // Not signed in: pages send to the sign-in form, forms are refused.
    let index = browser.send("GET", "/", &[]).await;
    assert_eq!(
        (index.status, index.location.as_deref()),
        (303, Some("/login"))
    );
    let login = browser.send("GET", "/login", &[]).await;
    assert_eq!(login.status, 200);
    let token_before = csrf(&login.body);
    let session_before = browser.cookie.clone();

    // A sign-in without the page's CSRF token (another site posting it) is refused; a wrong
    // token is named; the right one starts a new session.
    let forged = browser
        .send("POST", "/login", &[("token", &clinician)])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong = browser
        .send(
            "POST",
            "/login",
            &[("csrf", &token_before), ("token", "em_guess")],
        )
        .await;
    assert!(wrong.body.contains("unknown token"), "{}", wrong.body);
    let signed = browser
        .send(
            "POST",
            "/login",
            &[("csrf", &token_before), ("token", &clinician)],
        )
        .await;
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/"))
    );
    assert_ne!(
        browser.cookie, session_before,
        "signing in starts a new session"
    );

    let index = browser.send("GET", "/", &[]).await;
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("dr-ada"),
        "the page says who is signed in"
    );
    let token = csrf(&index.body);
    assert_ne!(token, token_before);

    // A form with the old session's token, or none, is refused before anything runs; with
    // this session's token it reaches the service (which knows no such explainer).
    let path = "/explainers/xnope/candidates";
    let stale = browser.send("POST", path, &judgement("stale")).await;
    assert_eq!(stale.status, 403, "{}", stale.body);
    let reached = browser.send("POST", path, &judgement(&token)).await;
    assert_eq!(reached.status, 404, "{}", reached.body);

    // Signing out ends the session.
    let out = browser.send("POST", "/logout", &[("csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/login")));
    let after = browser.send("GET", "/", &[]).await;
    assert_eq!(after.status, 303);
    running.stop().await;

    // The workbench's calls are audited as the signed-in reader's; nothing before sign-in
    // reached the service.
    let rows = audit_rows(&dir.path().join("data"), 3).await;
    assert!(
        rows.iter()
            .all(|r| r.entry.via == "workbench" && r.entry.who == "dr-ada"),
        "{rows:?}"
    );
    let judged = rows
        .iter()
        .find(|r| r.entry.rpc == "JudgeCandidate")
        .expect("the form that reached the service is audited");
    assert_eq!(
        (
            judged.entry.explainer_id.as_str(),
            judged.entry.code.as_str()
        ),
        ("xnope", "NOT_FOUND")
    );
    assert!(
        rows.iter().any(|r| r.entry.rpc == "ListExplainers"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_file_that_is_not_one_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    std::fs::write(
        &tokens,
        r#"{"tokens": [{"name": "x", "role": "admin", "sha256": "abc"}]}"#,
    )
    .unwrap();
    let refused = explainme::server::bind(ServerConfig {
        auth: Some(tokens),
        ..ServerConfig::loopback(dir.path().join("data"))
    })
    .await
    .unwrap_err();
    assert!(
        format!("{refused:#}").contains("no valid sha256"),
        "{refused:#}"
    );
}
