//! Paged listings (ListCases, ListFeatureSchemas): page sizes, tokens, and pages cut short so
//! that every answer fits the server's message limit, however long the listed items are.

use prost::Message;
use prost::encoding::encoded_len_varint;
use tonic::Status;

use crate::convert::common::identifier;

/// The page size when a request leaves it at 0, and the most it may ask for.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// Bytes kept free in an answer for its token and envelope: a token is two identifiers of
/// at most 128 bytes and a separator.
const RESERVED_BYTES: usize = 1024;

/// The page size a request asks for: 0 means the default, anything larger than the maximum
/// is read as the maximum.
pub fn page_size(requested: u32) -> usize {
    match usize::try_from(requested).unwrap_or(MAX_PAGE) {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

/// A page token: the listing it belongs to (`scope`, such as the cohort) and the last key of
/// the page it ends. Opaque to clients, checked when it comes back, so a mistyped or foreign
/// token is an error rather than a silently different page.
pub fn token(scope: &str, last_key: &str) -> String {
    format!("{scope}/{last_key}")
}

/// The key to list after, from a request's `page_token`; `None` for the first page.
pub fn after(scope: &str, page_token: String) -> Result<Option<String>, Status> {
    if page_token.is_empty() {
        return Ok(None);
    }
    let foreign = || {
        Status::invalid_argument(format!(
            "page_token: {page_token:?} is not a next_page_token this server issued for {scope:?}"
        ))
    };
    let key = page_token
        .strip_prefix(scope)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(foreign)?;
    identifier("page_token", key.to_owned())
        .map(Some)
        .map_err(|_| foreign())
}

/// The longest prefix of `items` whose encoding, as a repeated field, fits `max_bytes` less
/// room for the token; `true` when items were left out. At least one item is kept, so a
/// listing always advances (the item itself was bounded when it was stored).
pub fn fit<T: Message>(mut items: Vec<T>, max_bytes: usize) -> (Vec<T>, bool) {
    let room = max_bytes.saturating_sub(RESERVED_BYTES);
    let mut used = 0;
    let keep = items
        .iter()
        .position(|item| {
            let len = item.encoded_len();
            used += 1 + encoded_len_varint(len as u64) + len;
            used > room
        })
        .map_or(items.len(), |first_over| first_over.max(1));
    let cut = keep < items.len();
    items.truncate(keep);
    (items, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let t = token("renal", "case-0042");
        assert_eq!(
            after("renal", t.clone()).unwrap().as_deref(),
            Some("case-0042")
        );
        assert_eq!(after("renal", String::new()).unwrap(), None);
        for bad in [t.as_str(), "garbage", "renal/", "renal/a b", "renal"] {
            let err = after("adrenal", bad.to_owned()).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn pages_are_cut_to_fit_and_always_advance() {
        let items: Vec<String> = (0..10).map(|i| "x".repeat(100 + i)).collect();
        let (kept, cut) = fit(items.clone(), RESERVED_BYTES + 350);
        assert_eq!((kept.len(), cut), (3, true));
        let (kept, cut) = fit(items.clone(), 1 << 20);
        assert_eq!((kept.len(), cut), (10, false));
        let (kept, cut) = fit(items, 10);
        assert_eq!((kept.len(), cut), (1, true));
    }
}
