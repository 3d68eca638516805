//! Typed digests. Each kind of hash has its own type so a file id can never be passed
//! where a target hash is expected.
//!
//! - [`FileId`]: a file's content identity, in git's blob-id form (see `hash` docs).
//! - [`TargetHash`]: BLAKE3 of a target's fingerprint (a Merkle node over dependencies).
//! - [`TaskKey`]: BLAKE3 of a task's fingerprint; the action cache key.
//! - [`BlobDigest`]: SHA-256 of a cached blob's bytes (the digest HTTP caches verify).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A file's content identity: the git blob object id of its content (SHA-1, 20 bytes).
///
/// Committed, unmodified files take the id git already knows (no file is read); files that
/// differ from the index are read and their blob id is computed in-process, so a file has
/// the same id before and after it is committed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId(pub [u8; 20]);

impl FileId {
    /// The git blob id of `content`: SHA-1 over `blob <len>\0<content>`.
    pub fn of_content(content: &[u8]) -> FileId {
        use sha1::{Digest, Sha1};
        let mut h = Sha1::new();
        h.update(format!("blob {}\0", content.len()).as_bytes());
        h.update(content);
        FileId(h.finalize().into())
    }

    /// Parses 40 hex digits.
    pub fn from_hex(hex: &str) -> Option<FileId> {
        decode_hex::<20>(hex).map(FileId)
    }

    pub fn to_hex(&self) -> String {
        encode_hex(&self.0)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({})", self.to_hex())
    }
}

/// BLAKE3 of a target's fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetHash(pub [u8; 32]);

impl TargetHash {
    pub fn to_hex(&self) -> String {
        encode_hex(&self.0)
    }

    pub fn from_hex(hex: &str) -> Option<TargetHash> {
        decode_hex::<32>(hex).map(TargetHash)
    }
}

impl fmt::Display for TargetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TargetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TargetHash({})", self.to_hex())
    }
}

/// Hex in human-readable formats (JSON, and so in fingerprints); raw bytes in binary ones
/// (the baseline cache), which are four times faster to read.
impl Serialize for TargetHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for TargetHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            TargetHash::from_hex(&s)
                .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
        } else {
            <[u8; 32]>::deserialize(d).map(TargetHash)
        }
    }
}

/// BLAKE3 of a task's fingerprint: the action-cache key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey(pub [u8; 32]);

/// SHA-256 of a blob's content: the content-addressed store key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobDigest(pub [u8; 32]);

impl BlobDigest {
    pub fn of(content: &[u8]) -> BlobDigest {
        use sha2::{Digest, Sha256};
        BlobDigest(Sha256::digest(content).into())
    }
}

macro_rules! hex_digest {
    ($t:ident, $n:literal) => {
        impl $t {
            pub fn to_hex(&self) -> String {
                encode_hex(&self.0)
            }
            pub fn from_hex(hex: &str) -> Option<$t> {
                decode_hex::<$n>(hex).map($t)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.to_hex())
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $t::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected hex digest"))
            }
        }
    };
}

hex_digest!(TaskKey, 32);
hex_digest!(BlobDigest, 32);

/// Writes lowercase hex of `bytes` into `out` (twice as long).
pub fn encode_hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
}

pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

pub fn decode_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let bytes = hex.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            FileId::of_content(b"hello\n").to_hex(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // the empty blob
        assert_eq!(
            FileId::of_content(b"").to_hex(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn sha256_blob_digest() {
        // printf 'abc' | sha256sum
        assert_eq!(
            BlobDigest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trip() {
        let id = FileId::of_content(b"x");
        assert_eq!(FileId::from_hex(&id.to_hex()), Some(id));
        assert_eq!(FileId::from_hex("zz"), None);
    }
}
