//! Who may call what: bearer tokens, stored only as SHA-256 hashes in a JSON file
//! (`serve --auth FILE`, written by `explainme token add`), each naming a person or a tool and
//! a role. Clinicians read, label, give feedback and judge candidates; admins also register
//! and delete models, store schemas and cases, and fit explainers. Health checks and server
//! reflection stay open (load balancers and `grpcurl list` need no token).
//!
//! Over gRPC the `authorization: Bearer …` header is checked by `Authorizer` before any
//! handler runs: no or an unknown token is `UNAUTHENTICATED`, a role too low
//! `PERMISSION_DENIED`. The workbench signs people in with the same tokens (`src/web/`).

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::gate::Gate;

/// What a token lets its holder do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read models, cases, explanations and summaries; label cases; give feedback; judge
    /// candidate knowledge.
    Clinician,
    /// Everything a clinician may, and register or delete models, store schemas and cases,
    /// fit explainers.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Clinician => "clinician",
            Role::Admin => "admin",
        })
    }
}

/// The holder of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

/// One entry of the tokens file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenEntry {
    name: String,
    role: Role,
    /// SHA-256 of the token, lowercase hex.
    sha256: String,
}

/// The tokens file: `{"tokens": [{"name", "role", "sha256"}]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct TokensFile {
    tokens: Vec<TokenEntry>,
}

/// The known tokens, by hash.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: Arc<HashMap<String, Identity>>,
}

impl Tokens {
    /// Reads a tokens file; refuses one with a malformed hash or a hash listed twice.
    pub fn load(path: &Path) -> anyhow::Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the tokens file {}", path.display()))?;
        let file: TokensFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a tokens file", path.display()))?;
        let mut by_hash = HashMap::new();
        for entry in file.tokens {
            let valid = entry.sha256.len() == 64
                && entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            anyhow::ensure!(
                valid,
                "{}: token of {:?} has no valid sha256",
                path.display(),
                entry.name
            );
            let identity = Identity {
                name: entry.name,
                role: entry.role,
            };
            if let Some(earlier) = by_hash.insert(entry.sha256, identity) {
                anyhow::bail!(
                    "{}: the token of {:?} is listed twice",
                    path.display(),
                    earlier.name
                );
            }
        }
        anyhow::ensure!(!by_hash.is_empty(), "{} lists no token", path.display());
        Ok(Tokens {
            by_hash: Arc::new(by_hash),
        })
    }

    /// Who holds `token`, if anyone.
    pub fn identify(&self, token: &str) -> Option<&Identity> {
        self.by_hash
            .get(&explainme_store::sha256_hex(token.as_bytes()))
    }
}

/// A new random token (`em_` + 64 hex digits from the operating system's entropy), appended
/// with `name` and `role` to the tokens file at `path` (created readable by its owner only).
/// The token itself is returned once and stored nowhere.
pub fn add_token(path: &Path, name: &str, role: Role) -> anyhow::Result<String> {
    let mut file: TokensFile = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not a tokens file", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokensFile::default(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    anyhow::ensure!(!name.trim().is_empty(), "a token needs a name");
    let token = format!("em_{}", random_hex(32)?);
    file.tokens.push(TokenEntry {
        name: name.trim().to_owned(),
        role,
        sha256: explainme_store::sha256_hex(token.as_bytes()),
    });
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let json = serde_json::to_string_pretty(&file)?;
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(json.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}

/// `bytes` random bytes from the operating system, as hex: for tokens, sessions and CSRF
/// tokens, which must not be predictable (the project's seeded RNG is for reproducible
/// science, the opposite).
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buffer))
        .context("cannot read /dev/urandom")?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// The role an RPC needs: `None` for the open services (health, reflection).
pub fn required_role(path: &str) -> Option<Role> {
    let method = path.strip_prefix("/explainme.v1.ExplainerService/")?;
    Some(match method {
        "RegisterModel" | "DeleteModel" | "PutFeatureSchema" | "UpsertCases" | "DeleteCase"
        | "FitExplainer" => Role::Admin,
        _ => Role::Clinician,
    })
}

/// Checks `authorization` for an RPC at `path`.
pub fn authorize(
    tokens: &Tokens,
    path: &str,
    authorization: Option<&str>,
) -> Result<Option<Identity>, Status> {
    let Some(needed) = required_role(path) else {
        return Ok(None);
    };
    let token = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Status::unauthenticated("send `authorization: Bearer <token>` (serve --auth)")
        })?;
    let identity = tokens
        .identify(token.trim())
        .ok_or_else(|| Status::unauthenticated("unknown token"))?;
    if identity.role < needed {
        return Err(Status::permission_denied(format!(
            "{} needs the {needed} role; {:?} is a {}",
            path.rsplit('/').next().unwrap_or(path),
            identity.name,
            identity.role
        )));
    }
    Ok(Some(identity.clone()))
}

/// Refuses gRPC calls without a sufficient token before they reach a handler (a [`Gate`] of
/// the server); the caller's [`Identity`] rides along in the request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct Authorizer {
    tokens: Tokens,
}

impl Authorizer {
    pub(crate) fn new(tokens: Tokens) -> Authorizer {
        Authorizer { tokens }
    }
}

impl Gate for Authorizer {
    type Pass = ();

    fn check<B>(&self, request: &mut http::Request<B>) -> Result<(), Status> {
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match authorize(&self.tokens, request.uri().path(), authorization) {
            Ok(Some(identity)) => {
                tracing::debug!(caller = %identity.name, role = %identity.role, "authorized");
                request.extensions_mut().insert(identity);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(status) => {
                // A known token with too low a role: the audit trail says whose it was.
                let known = authorization
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .and_then(|token| self.tokens.identify(token.trim()))
                    .cloned();
                if let Some(identity) = known {
                    request.extensions_mut().insert(identity);
                }
                Err(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_tokens_decide_who_calls_what() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let clinician = add_token(&path, "dr ada", Role::Clinician).unwrap();
        let admin = add_token(&path, "pacs bridge", Role::Admin).unwrap();
        assert!(clinician.starts_with("em_") && clinician.len() == 67);
        assert_ne!(clinician, admin);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&clinician[3..]), "only hashes are stored");
        let tokens = Tokens::load(&path).unwrap();

        let register = "/explainme.v1.ExplainerService/RegisterModel";
        let explain = "/explainme.v1.ExplainerService/Explain";
        let bearer = |t: &str| format!("Bearer {t}");
        let code = |path, auth: Option<&str>| authorize(&tokens, path, auth).map_err(|s| s.code());
        assert_eq!(code(explain, None), Err(tonic::Code::Unauthenticated));
        assert_eq!(
            code(explain, Some("Bearer em_nope")),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(register, Some(&bearer(&clinician))),
            Err(tonic::Code::PermissionDenied)
        );
        let who = authorize(&tokens, explain, Some(&bearer(&clinician))).unwrap();
        assert_eq!(who.map(|i| i.name), Some("dr ada".to_owned()));
        assert!(authorize(&tokens, register, Some(&bearer(&admin))).is_ok());
        assert_eq!(code("/grpc.health.v1.Health/Check", None), Ok(None));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
