//! Who is at the workbench, and proof that a form was sent from the workbench's own page.
//!
//! Every browser gets a session (a random id in an `HttpOnly`, `SameSite=Strict` cookie) that
//! carries a CSRF token; every form posts the token back and a form without it is refused,
//! so another site open in the same browser cannot label a case or accept a candidate in the
//! reader's name — with or without `--auth`. With `--auth`, a session is signed in with a
//! bearer token (the same tokens as gRPC) and the pages show and store the token holder's
//! name as the author; signing in starts a new session, so an id planted before it is
//! worthless after.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue, header};
use tonic::Status;

use crate::auth::{Identity, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "explainme_session";

/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Sessions kept at most; the oldest is forgotten first (its browser simply gets a new one).
const CAPACITY: usize = 4096;

/// One browser's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    /// Who signed in; `None` without `--auth` (or before signing in).
    pub identity: Option<Identity>,
}

impl Session {
    /// Refuses a form whose CSRF token is missing or not this session's.
    pub fn check_form(&self, fields: &[(String, String)]) -> Result<(), Status> {
        let sent = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str());
        if sent == Some(self.csrf.as_str()) {
            Ok(())
        } else {
            Err(Status::permission_denied(
                "this form did not come from this workbench page (or the page is older than \
                 your session): reload the page and send it again",
            ))
        }
    }

    /// The form's fields with `author` set to the signed-in name, when there is one: what is
    /// stored as who said it is who signed in, not what was typed.
    pub fn authored(&self, mut fields: Vec<(String, String)>) -> Vec<(String, String)> {
        if let Some(identity) = &self.identity {
            fields.retain(|(name, _)| name != "author");
            fields.push(("author".to_owned(), identity.name.clone()));
        }
        fields
    }
}

#[derive(Debug, Default)]
struct Table {
    by_id: HashMap<String, Session>,
    order: VecDeque<String>,
}

/// Every live session.
#[derive(Debug, Default)]
pub struct Sessions {
    table: Mutex<Table>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Each update is one insert or remove per collection: safe to take over.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().by_id.get(id).cloned()
    }

    /// A new session for `identity`.
    pub fn create(&self, identity: Option<Identity>) -> Result<Session, Status> {
        let random = |n| random_hex(n).map_err(|e| Status::internal(e.to_string()));
        let session = Session {
            id: random(32)?,
            csrf: random(32)?,
            identity,
        };
        let mut table = self.lock();
        table.by_id.insert(session.id.clone(), session.clone());
        table.order.push_back(session.id.clone());
        while table.order.len() > CAPACITY {
            if let Some(oldest) = table.order.pop_front() {
                table.by_id.remove(&oldest);
            }
        }
        Ok(session)
    }

    pub fn remove(&self, id: &str) {
        let mut table = self.lock();
        table.by_id.remove(id);
        table.order.retain(|kept| kept != id);
    }
}

/// The session id a request's `Cookie` header carries.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a session: not readable by scripts, never sent by another
/// site's requests, and over HTTPS (`secure`) never sent over plain HTTP.
pub fn set_cookie(session: &Session, secure: bool) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}",
        session.id,
        if secure { "; Secure" } else { "" }
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("explainme_session=; Path=/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn a_form_needs_its_session_token() {
        let sessions = Sessions::default();
        let session = sessions.create(None).unwrap();
        let form = |csrf: &str| vec![(CSRF_FIELD.to_owned(), csrf.to_owned())];
        assert!(session.check_form(&form(&session.csrf)).is_ok());
        assert!(session.check_form(&form("forged")).is_err());
        assert!(session.check_form(&[]).is_err());
        let other = sessions.create(None).unwrap();
        assert_ne!(other.id, session.id);
        assert!(other.check_form(&form(&session.csrf)).is_err());
    }

    #[test]
    fn the_signed_in_name_is_the_author() {
        let sessions = Sessions::default();
        let signed = sessions
            .create(Some(Identity {
                name: "dr ada".into(),
                role: Role::Clinician,
            }))
            .unwrap();
        let fields = vec![("author".to_owned(), "someone else".to_owned())];
        assert_eq!(
            signed.authored(fields.clone()),
            [("author".to_owned(), "dr ada".to_owned())]
        );
        let open = sessions.create(None).unwrap();
        assert_eq!(open.authored(fields.clone()), fields);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; explainme_session=abc123; x=y"),
        );
        assert_eq!(cookie(&headers).as_deref(), Some("abc123"));
        assert_eq!(cookie(&HeaderMap::new()), None);
    }
}
