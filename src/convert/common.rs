//! Conversions shared by every service area: names, tensors, images, and store errors.

use tonic::Status;

use crate::pb;

/// Checks a user-chosen name (cohort, case id, schema name): 1 to 128 letters, digits,
/// `_`, `-` or `.`, so names are safe in file names, URLs and reports.
pub fn identifier(field: &str, value: String) -> Result<String, Status> {
    let valid = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if valid {
        Ok(value)
    } else {
        Err(Status::invalid_argument(format!(
            "{field}: {} must be 1 to 128 letters, digits, `_`, `-` or `.`",
            quoted(&value)
        )))
    }
}

/// A user-supplied string for an error message or a log line: escaped (a newline cannot
/// forge a line) and cut to 64 characters with its length, since gRPC sends the message
/// as a header and a 5 MB echo would break the connection.
pub fn quoted(value: &str) -> String {
    const SHOWN: usize = 64;
    match value.char_indices().nth(SHOWN) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// A tensor's shape and values, checked for consistency and finiteness.
pub fn tensor(
    field: &str,
    value: Option<pb::FloatTensor>,
) -> Result<(Vec<usize>, Vec<f32>), Status> {
    let pb::FloatTensor { shape, data } =
        value.ok_or_else(|| Status::invalid_argument(format!("{field}: missing")))?;
    let shape = shape
        .into_iter()
        .map(usize::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Status::invalid_argument(format!("{field}.shape: axis too large")))?;
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if shape.is_empty() || expected != Some(data.len()) {
        return Err(Status::invalid_argument(format!(
            "{field}: shape {shape:?} does not match its {} values",
            data.len()
        )));
    }
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        return Err(Status::invalid_argument(format!(
            "{field}.data: value at flat index {index} is not finite ({})",
            data[index]
        )));
    }
    Ok((shape, data))
}

/// A failure of the data directory: never the caller's fault. The details (file paths, SQL)
/// go to the server's log under a reference the answer carries, not to the client.
pub fn store_error(error: explainme_store::Error) -> Status {
    let reference = incident_reference();
    tracing::error!(%error, reference, "store failure");
    Status::internal(format!(
        "storage failed (reference {reference} in the server's log)"
    ))
}

/// A blocking task that panicked or was cancelled; logged as [`store_error`] is.
pub fn join_error(error: tokio::task::JoinError) -> Status {
    let reference = incident_reference();
    tracing::error!(%error, reference, "blocking task failed");
    Status::internal(format!(
        "internal task failed (reference {reference} in the server's log)"
    ))
}

/// A reference that ties an answer to its log line: unique within a server's life and
/// unlikely to repeat across restarts (the start time's low bits, then a counter).
fn incident_reference() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static START: OnceLock<u32> = OnceLock::new();
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32))
    });
    format!("{start:08x}-{:04x}", COUNT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_keep_their_paths_in_the_log() {
        let error = explainme_store::Error::Io {
            path: "/srv/explainme/blobs/ab/abcd".into(),
            source: std::io::Error::other("disk full"),
        };
        let status = store_error(error);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("/srv"), "{}", status.message());
        assert!(
            !status.message().contains("disk full"),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("reference "),
            "{}",
            status.message()
        );
        assert_ne!(
            store_error(explainme_store::Error::BadDigest("x".into())).message(),
            status.message()
        );
    }

    #[test]
    fn user_strings_are_escaped_and_cut() {
        assert_eq!(quoted("a\nb"), r#""a\nb""#);
        let long = "n".repeat(5 << 20);
        let shown = quoted(&long);
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("… (5242880 bytes)"), "{shown}");
    }
}
