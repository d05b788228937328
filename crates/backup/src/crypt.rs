//! Encryption to a recipient key: whoever holds the recipient's public key can write a
//! backup, only the holder of the identity (the private key) can read it, so the machine
//! that makes backups never holds what opens them.
//!
//! The scheme is age's X25519 recipient stanza reduced to one recipient, written out here
//! because the `age` crate brings about 150 crates (localisation and embedding
//! frameworks among them) for it (decision 0028):
//!
//! ```text
//! MAGIC "FWBACKUP-X25519-1\n" | ephemeral public key (32 bytes) | chunk*
//! key    = HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = ephemeral ‖ recipient,
//!                      info = "ferretwatch-backup payload v1")
//! chunk  = ChaCha20-Poly1305(key, nonce = 11-byte big-endian counter ‖ last flag, 64 KiB)
//! ```
//!
//! Every chunk is authenticated, and the last one says it is last, so a truncated,
//! reordered or altered file fails to decrypt (the STREAM construction).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::{io, BackupError, Result};

/// The first bytes of an encrypted object.
pub const MAGIC: &[u8] = b"FWBACKUP-X25519-1\n";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const INFO: &[u8] = b"ferretwatch-backup payload v1";
const IDENTITY_PREFIX: &str = "FERRETWATCH-BACKUP-IDENTITY-1:";
const RECIPIENT_PREFIX: &str = "FERRETWATCH-BACKUP-RECIPIENT-1:";

/// A recipient: the public key backups are encrypted to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Recipient(PublicKey);

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.fingerprint())
    }
}

/// An identity: the private key that decrypts (redacted in `Debug`).
#[derive(Clone)]
pub struct Identity(StaticSecret);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity(recipient {})", self.recipient().fingerprint())
    }
}

fn key_line(text: &str, prefix: &str, path: &Path) -> Result<[u8; 32]> {
    let bad = || BackupError::Invalid(format!("{}: not a backup key file (want a line {prefix}HEX)", path.display()));
    let line = text.lines().map(str::trim).find(|l| l.starts_with(prefix)).ok_or_else(bad)?;
    let bytes = hex::decode(&line[prefix.len()..]).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

impl Recipient {
    /// Reads a recipient file (`FERRETWATCH-BACKUP-RECIPIENT-1:HEX`).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Ok(Recipient(PublicKey::from(key_line(&text, RECIPIENT_PREFIX, path)?)))
    }

    /// The file's text.
    pub fn to_file_text(&self) -> String {
        format!("{RECIPIENT_PREFIX}{}\n", hex::encode(self.0.as_bytes()))
    }

    /// The first 16 hex digits of the SHA-256 of the key: which key a backup used.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }
}

impl Identity {
    /// A new random identity.
    pub fn generate() -> Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| BackupError::Io(format!("random bytes: {e}")))?;
        Ok(Identity(StaticSecret::from(secret)))
    }

    /// Reads an identity file (`FERRETWATCH-BACKUP-IDENTITY-1:HEX`); one its group or
    /// others may read is refused, as every secret file is.
    pub fn read(path: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io(path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(BackupError::Invalid(format!(
                "{}: mode {:o}: an identity must be readable by its owner only (chmod 600)",
                path.display(),
                mode & 0o777
            )));
        }
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Ok(Identity(StaticSecret::from(key_line(&text, IDENTITY_PREFIX, path)?)))
    }

    /// The file's text (keep it secret: mode 0600, off the backup machine).
    pub fn to_file_text(&self) -> String {
        format!(
            "# The identity that decrypts FerretWatch backups. Keep it off the machine that makes them.\n\
             # recipient: {}{IDENTITY_PREFIX}{}\n",
            self.recipient().to_file_text(),
            hex::encode(self.0.to_bytes())
        )
    }

    /// Its recipient.
    pub fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0))
    }
}

fn payload_key(shared: &[u8; 32], ephemeral: &PublicKey, recipient: &PublicKey) -> ChaCha20Poly1305 {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared).expand(INFO, &mut key).expect("32 bytes is a valid HKDF length");
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    *Nonce::from_slice(&nonce)
}

/// Reads `input` to its end and writes it encrypted to `recipient` into `output`.
pub fn encrypt(recipient: &Recipient, input: impl Read, mut output: impl Write) -> Result<()> {
    let ephemeral = Identity::generate()?;
    let ephemeral_public = PublicKey::from(&ephemeral.0);
    let shared = ephemeral.0.diffie_hellman(&recipient.0);
    if !shared.was_contributory() {
        return Err(BackupError::Invalid("the recipient key is not a valid X25519 public key".into()));
    }
    let cipher = payload_key(shared.as_bytes(), &ephemeral_public, &recipient.0);
    let write_err = |e: std::io::Error| BackupError::Io(format!("writing the encrypted object: {e}"));
    output.write_all(MAGIC).map_err(write_err)?;
    output.write_all(ephemeral_public.as_bytes()).map_err(write_err)?;
    let mut input = BufReader::with_capacity(CHUNK, input);
    let mut chunk = Vec::with_capacity(CHUNK);
    for counter in 0u64.. {
        chunk.clear();
        (&mut input)
            .take(CHUNK as u64)
            .read_to_end(&mut chunk)
            .map_err(|e| BackupError::Io(format!("reading the object to encrypt: {e}")))?;
        let last =
            chunk.len() < CHUNK || input.fill_buf().map_err(|e| BackupError::Io(format!("reading: {e}")))?.is_empty();
        let sealed = cipher
            .encrypt(&nonce(counter, last), chunk.as_slice())
            .map_err(|_| BackupError::Io("encryption failed".into()))?;
        output.write_all(&sealed).map_err(write_err)?;
        if last {
            break;
        }
    }
    output.flush().map_err(write_err)
}

/// Reads an encrypted `input` and writes its plaintext into `output`; fails on a wrong
/// identity and on any altered, missing or added byte.
pub fn decrypt(identity: &Identity, input: impl Read, mut output: impl Write) -> Result<()> {
    let mut input = BufReader::with_capacity(CHUNK + TAG, input);
    let damaged = |what: &str| BackupError::Decrypt(format!("cannot decrypt: {what}"));
    let mut header = [0u8; MAGIC.len() + 32];
    input.read_exact(&mut header).map_err(|_| damaged("shorter than its header"))?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err(damaged("not an encrypted backup object (no FWBACKUP-X25519-1 header)"));
    }
    let ephemeral = PublicKey::from(<[u8; 32]>::try_from(&header[MAGIC.len()..]).expect("32 bytes"));
    let shared = identity.0.diffie_hellman(&ephemeral);
    if !shared.was_contributory() {
        return Err(damaged("its ephemeral key is a low-order point"));
    }
    let cipher = payload_key(shared.as_bytes(), &ephemeral, &identity.recipient().0);
    let mut sealed = Vec::with_capacity(CHUNK + TAG);
    for counter in 0u64.. {
        sealed.clear();
        (&mut input)
            .take((CHUNK + TAG) as u64)
            .read_to_end(&mut sealed)
            .map_err(|e| BackupError::Io(format!("reading the encrypted object: {e}")))?;
        let last = input.fill_buf().map_err(|e| BackupError::Io(format!("reading: {e}")))?.is_empty();
        let plain = cipher.decrypt(&nonce(counter, last), sealed.as_slice()).map_err(|_| {
            damaged(if counter == 0 {
                "wrong identity, or the object was altered or truncated"
            } else {
                "the object was altered or truncated"
            })
        })?;
        output.write_all(&plain).map_err(|e| BackupError::Io(format!("writing the decrypted object: {e}")))?;
        if last {
            break;
        }
    }
    output.flush().map_err(|e| BackupError::Io(format!("writing the decrypted object: {e}")))
}

/// Whether a file starts with [`MAGIC`].
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let mut head = [0u8; MAGIC.len()];
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let n = file.read(&mut head).map_err(io(path))?;
    Ok(n == MAGIC.len() && head == MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let identity = Identity::generate().unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let mut sealed = Vec::new();
        encrypt(&identity.recipient(), plain.as_slice(), &mut sealed).unwrap();
        let mut opened = Vec::new();
        decrypt(&identity, sealed.as_slice(), &mut opened).unwrap();
        assert_eq!(opened, plain, "length {len}");
    }

    #[test]
    fn objects_of_every_size_round_trip() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            roundtrip(len);
        }
    }

    #[test]
    fn a_flipped_byte_a_truncation_or_another_identity_is_refused() {
        let identity = Identity::generate().unwrap();
        let plain = vec![42u8; 2 * CHUNK + 5];
        let mut sealed = Vec::new();
        encrypt(&identity.recipient(), plain.as_slice(), &mut sealed).unwrap();
        let mut flipped = sealed.clone();
        flipped[MAGIC.len() + 32 + CHUNK + 100] ^= 1;
        assert!(decrypt(&identity, flipped.as_slice(), std::io::sink()).is_err());
        let truncated = &sealed[..MAGIC.len() + 32 + CHUNK + TAG];
        let err = decrypt(&identity, truncated, std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("altered or truncated"), "{err}");
        let other = Identity::generate().unwrap();
        let err = decrypt(&other, sealed.as_slice(), std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("wrong identity"), "{err}");
    }

    #[test]
    fn key_files_round_trip_and_the_identity_file_names_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::generate().unwrap();
        let (id_path, rcpt_path) = (dir.path().join("backup.key"), dir.path().join("backup.pub"));
        std::fs::write(&id_path, identity.to_file_text()).unwrap();
        std::fs::write(&rcpt_path, identity.recipient().to_file_text()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&id_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Identity::read(&id_path).unwrap_err();
        assert!(err.to_string().contains("owner only"), "an identity others may read is refused: {err}");
        std::fs::set_permissions(&id_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Identity::read(&id_path).unwrap().recipient(), identity.recipient());
        assert_eq!(Recipient::read(&rcpt_path).unwrap(), identity.recipient());
        assert!(Recipient::read(&id_path).is_err(), "an identity file is not a recipient file");
        assert!(!format!("{identity:?}").contains(&hex::encode(identity.0.to_bytes())));
    }
}
