//! Content-addressed blob files: ONNX models and case images, stored once per content.
//!
//! A blob lives at `blobs/ab/abcdef…` where `abcdef…` is the SHA-256 of its bytes in lowercase
//! hex. Writes go to a temporary file in the same directory and are renamed into place, so a
//! crash never leaves a half-written blob under its final name; reads re-hash the content so a
//! damaged file is reported instead of being fed to ONNX Runtime. A blob is durable once `put`
//! returns: the file is fsynced before its rename and its directory after, so the row that
//! names it (committed next, by the caller) never outlives it in a crash. Storing content
//! whose file exists but is damaged writes it again, so a re-upload repairs it. Files are
//! readable by the service's user only (0600, directories 0700), and dropped from the page
//! cache once synced (see `drop_cached`). This module knows nothing of what the bytes mean.
//!
//! A blob may also be written ahead of the row that will name it ([`BlobStore::stage`]), off
//! the store's writer lock: the [`StagedBlob`] it returns pins the blob, and
//! [`BlobStore::remove`] leaves a pinned blob alone, so a concurrent release of the same
//! content (a replaced case whose image it was) cannot delete it between its write and its
//! row's commit.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// How the temporary file of a write in progress is named; never a SHA-256 digest.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Distinguishes temporary files of concurrent writers within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The SHA-256 of `bytes`, lowercase hex: the name a blob is stored under.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Drops a blob just written and synced from the page cache. A blob is written once and
/// read back rarely (a model when its session starts, an image when its case is
/// explained), so its pages are cold the moment they are on disk; left cached, a bulk upload
/// grows the cache by its own size, and the kernel's reclaim of those pages (its
/// `kdamond` / `kswapd` threads, at normal priority) then competes with the calls a
/// clinician waits for: `cargo bench --bench load` measured Predict's p99 beside an upload
/// at +2.3 / +2.7 ms over alone with the pages kept, +1.4 / −0.1 ms with them dropped. A
/// later read caches them again. Linux only, and best effort: a refusal changes nothing
/// but the cache.
fn drop_cached(file: &fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: posix_fadvise only reads its arguments; the descriptor is open (borrowed
        // from `file`) for the duration of the call.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Digest → how many [`StagedBlob`]s hold it.
type Pins = Arc<Mutex<HashMap<String, usize>>>;

/// Locks the pins; a panic elsewhere while holding them left a plain map, still usable.
fn lock(pins: &Pins) -> MutexGuard<'_, HashMap<String, usize>> {
    pins.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A directory of content-addressed files. Clones share their pins; another `BlobStore`
/// opened on the same directory does not, so stage and remove through one value and its
/// clones.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    pins: Pins,
}

/// A blob written by [`BlobStore::stage`] and kept from [`BlobStore::remove`] until this is
/// dropped: by then the row naming it has committed, or the write was given up (see
/// `Store::discard`).
#[derive(Debug)]
pub struct StagedBlob {
    sha: String,
    pins: Pins,
}

impl StagedBlob {
    /// The blob's SHA-256 hex.
    pub fn sha256(&self) -> &str {
        &self.sha
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        let mut pins = lock(&self.pins);
        if let Some(count) = pins.get_mut(&self.sha) {
            *count -= 1;
            if *count == 0 {
                pins.remove(&self.sha);
            }
        }
    }
}

impl BlobStore {
    /// Opens (creating if needed) the blob directory `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<BlobStore> {
        let root = root.into();
        crate::private::create_dir(&root)?;
        Ok(BlobStore {
            root,
            pins: Pins::default(),
        })
    }

    /// Stores `bytes` unless a blob with the same content exists; returns its SHA-256 hex.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        self.put_hashed(bytes, sha256_hex(bytes))
    }

    /// Stores `bytes` as [`BlobStore::put`] does, ahead of the row that will name it, and
    /// pins it until the returned [`StagedBlob`] is dropped. `sha` is
    /// [`sha256_hex`]`(bytes)`, computed by the caller where hashing costs less: the server
    /// hashes and stages an upload's image on its idle-priority decoding threads, so the
    /// store's writer only commits rows. A wrong `sha` fails debug builds here, and any build
    /// at the first read (which re-hashes) as a damaged blob.
    pub fn stage(&self, bytes: &[u8], sha: String) -> Result<StagedBlob> {
        // Pinned before the file is looked at: a `remove` either ran before (and the write
        // below finds no file) or sees the pin.
        *lock(&self.pins).entry(sha.clone()).or_default() += 1;
        let staged = StagedBlob {
            sha,
            pins: Arc::clone(&self.pins),
        };
        self.put_hashed(bytes, staged.sha.clone())?;
        Ok(staged)
    }

    /// [`BlobStore::put`] with the digest already computed.
    fn put_hashed(&self, bytes: &[u8], sha: String) -> Result<String> {
        debug_assert_eq!(
            sha,
            sha256_hex(bytes),
            "put_hashed: the digest is not the bytes'"
        );
        let path = self.path_of(&sha)?;
        if path.is_file() && self.get(&sha).is_ok() {
            return Ok(sha);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let io = |source, path: &Path| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let new_dir = !dir.is_dir();
        crate::private::create_dir(&dir)?;
        if new_dir {
            crate::private::sync_dir(&self.root)?;
        }
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{sha}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = crate::private::create_file(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop_cached(&file);
            Ok(())
        })();
        if let Err(source) = written.and_then(|()| fs::rename(&temp, &path)) {
            // Best effort: the temporary name is never read, so a leftover only wastes space
            // (and is collected at the next open).
            let _ = fs::remove_file(&temp);
            return Err(io(source, &path));
        }
        crate::private::sync_dir(&dir)?;
        Ok(sha)
    }

    /// Every file under the blob directory: `(name, path)`, blobs and leftovers of
    /// interrupted writes alike (names starting with `TEMP_PREFIX`, `.tmp-`).
    pub fn files(&self) -> Result<Vec<(String, PathBuf)>> {
        let read = |dir: &Path| {
            fs::read_dir(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })
        };
        let mut files = Vec::new();
        for shard in read(&self.root)? {
            let shard = shard.map_err(|source| Error::Io {
                path: self.root.clone(),
                source,
            })?;
            if !shard.path().is_dir() {
                continue;
            }
            for entry in read(&shard.path())? {
                let entry = entry.map_err(|source| Error::Io {
                    path: shard.path(),
                    source,
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                files.push((name, entry.path()));
            }
        }
        Ok(files)
    }

    /// Reads a blob back, checking that its content still hashes to `sha`.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        let path = self.path_of(sha)?;
        let bytes = fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if actual != sha {
            return Err(Error::CorruptBlob {
                path,
                expected: sha.to_owned(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Deletes a blob, unless a [`StagedBlob`] pins it; a blob that is already gone is not an
    /// error.
    pub fn remove(&self, sha: &str) -> Result<()> {
        let path = self.path_of(sha)?;
        // Held across the deletion, so a `stage` of the same content waits for it and then
        // writes the file again.
        let pins = lock(&self.pins);
        if pins.contains_key(sha) {
            return Ok(());
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// `root/ab/abcdef…`; rejects anything that is not a SHA-256 hex digest so a name can
    /// never escape the blob directory.
    fn path_of(&self, sha: &str) -> Result<PathBuf> {
        let valid = sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(Error::BadDigest(sha.to_owned()));
        }
        Ok(self.root.join(&sha[..2]).join(sha))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storing_damaged_content_again_repairs_it() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let sha = blobs.put(b"image bytes").unwrap();
        fs::write(dir.path().join(&sha[..2]).join(&sha), b"bit rot").unwrap();
        assert!(matches!(blobs.get(&sha), Err(Error::CorruptBlob { .. })));
        assert_eq!(blobs.put(b"image bytes").unwrap(), sha);
        assert_eq!(blobs.get(&sha).unwrap(), b"image bytes");
        let names: Vec<String> = blobs.files().unwrap().into_iter().map(|f| f.0).collect();
        assert_eq!(names, [sha]);
    }

    #[cfg(unix)]
    #[test]
    fn blobs_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let blobs = BlobStore::open(&root).unwrap();
        let sha = blobs.put(b"patient image").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join(&sha[..2])), 0o700);
        assert_eq!(mode(&root.join(&sha[..2]).join(&sha)), 0o600);
    }

    #[test]
    fn put_get_roundtrip_is_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let sha = blobs.put(b"abc").unwrap();
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(dir.path().join("ba").join(&sha).is_file());
        assert_eq!(blobs.put(b"abc").unwrap(), sha);
        assert_eq!(blobs.get(&sha).unwrap(), b"abc");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("ba"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary files remain: {leftovers:?}"
        );
    }

    #[test]
    fn a_staged_blob_outlives_a_remove_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let bytes = b"uploaded image";
        let first = blobs.stage(bytes, sha256_hex(bytes)).unwrap();
        let second = blobs.clone().stage(bytes, sha256_hex(bytes)).unwrap();
        let sha = first.sha256().to_owned();
        blobs.remove(&sha).unwrap();
        assert_eq!(blobs.get(&sha).unwrap(), bytes, "pinned twice");
        drop(first);
        blobs.remove(&sha).unwrap();
        assert_eq!(blobs.get(&sha).unwrap(), bytes, "still pinned once");
        drop(second);
        blobs.remove(&sha).unwrap();
        assert!(blobs.get(&sha).is_err(), "unpinned, removed");
        // Staged again after its removal, the file is written anew.
        let again = blobs.stage(bytes, sha256_hex(bytes)).unwrap();
        assert_eq!(blobs.get(again.sha256()).unwrap(), bytes);
    }

    #[test]
    fn damaged_blob_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let sha = blobs.put(b"model bytes").unwrap();
        fs::write(dir.path().join(&sha[..2]).join(&sha), b"tampered").unwrap();
        assert!(matches!(blobs.get(&sha), Err(Error::CorruptBlob { .. })));
    }

    #[test]
    fn names_that_are_not_digests_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        assert!(matches!(
            blobs.get("../../etc/passwd"),
            Err(Error::BadDigest(_))
        ));
        assert!(matches!(
            blobs.remove(&"A".repeat(64)),
            Err(Error::BadDigest(_))
        ));
    }
}
