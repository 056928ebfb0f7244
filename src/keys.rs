//! secp256k1 keys: loading private keys from the PEM shapes people actually have (SEC1 with or
//! without an `EC PARAMETERS` block, CRLF line ends, PKCS#8, explicit curve parameters,
//! compressed or missing embedded public points), generating key pairs, signing, and verifying
//! DER signatures (high-S included, as Stark Bank's servers produce them).

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

/// What went wrong loading or writing a key. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `origin` says where the path came from (`environment STARK_PRIVATE_KEY`), when known.
    #[error("cannot read key file {path}{}: {error}", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default())]
    Read {
        path: PathBuf,
        error: std::io::Error,
        origin: Option<String>,
    },
    #[error("cannot write key file {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("key file {path} is empty")]
    Empty { path: PathBuf },
    #[error(
        "key file {path} holds no PEM key block (expected `-----BEGIN EC PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----`)"
    )]
    NoKeyBlock { path: PathBuf },
    #[error(
        "key file {path} holds a public key, not a private key: point STARK_PRIVATE_KEY at the private half (private-key.pem)"
    )]
    PublicNotPrivate { path: PathBuf },
    #[error(
        "key file {path} holds an encrypted private key: decrypt it first, e.g. `openssl ec -in {path} -out private-key.pem`"
    )]
    Encrypted { path: PathBuf },
    #[error(
        "key file {path} is a key on {curve}, but Stark Bank uses secp256k1: generate one with `stark keygen`"
    )]
    WrongCurve { path: PathBuf, curve: String },
    #[error("key file {path} is truncated or corrupted: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error(
        "private key file {path} is readable by other users (mode {mode:04o}); fix it with `chmod 600 {path}`"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{path} already exists; pass --force to overwrite it")]
    Exists { path: PathBuf },
    /// The PEM text held in an environment variable (`STARK_PRIVATE_KEY_PEM`) is not a usable
    /// key. `problem` never quotes the variable's value.
    #[error("{var} does not hold a usable private key: {problem}")]
    InEnv { var: &'static str, problem: String },
}

/// Key material held in memory that is not a usable secp256k1 key ([`KeyError`] is the same
/// for a file, and names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDataError {
    /// The PEM text is not well formed (a block cut short, not base64, empty...).
    #[error("{0}")]
    Pem(String),
    #[error("no `-----BEGIN PUBLIC KEY-----` block")]
    NoPublicKeyBlock,
    #[error("not a secp256k1 public key: {0}")]
    NotSecp256k1(String),
    /// A private scalar that is too long, zero, or not below the curve order.
    #[error("{0}")]
    Scalar(String),
}

/// A signature could not be used: either it is not a well-formed signature at all, or it is
/// well formed but does not match the message and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is missing")]
    Missing,
    #[error("signature is malformed: {0}")]
    Malformed(&'static str),
    #[error("signature does not match the content")]
    Mismatch,
}

/// A secp256k1 private key. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct PrivateKey {
    signing: SigningKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("secret", &"<redacted>")
            .field("public_fingerprint", &self.public_key().fingerprint())
            .finish()
    }
}

/// A secp256k1 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    verifying: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey")
            .field(&self.fingerprint())
            .finish()
    }
}

impl PrivateKey {
    /// A fresh random key from the operating system's RNG.
    pub fn generate() -> Self {
        PrivateKey {
            signing: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// A key from its 32-byte big-endian scalar (tests and deterministic fixtures).
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeyDataError> {
        let secret = scalar_from_bytes(bytes).map_err(KeyDataError::Scalar)?;
        Ok(PrivateKey {
            signing: SigningKey::from(secret),
        })
    }

    /// Load from a file, refusing files readable by group or others.
    /// Load a private key file. What it holds is checked before its mode, so that a public
    /// key given by mistake is named as such (one fix), not first as readable by others.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let (text, mode) = read_key_file(path)?;
        let key = Self::from_pem_named(&text, path)?;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        Ok(key)
    }

    /// [`PrivateKey::load`], with where the path came from named in a read error.
    pub fn load_from(path: &Path, origin: &impl std::fmt::Display) -> Result<Self, KeyError> {
        Self::load(path).map_err(|e| match e {
            KeyError::Read { path, error, .. } => KeyError::Read {
                path,
                error,
                origin: Some(origin.to_string()),
            },
            e => e,
        })
    }

    /// Parse PEM text; `origin` names the source in error messages.
    pub fn from_pem_named(text: &str, origin: &Path) -> Result<Self, KeyError> {
        let err_path = || origin.to_path_buf();
        if text.trim().is_empty() {
            return Err(KeyError::Empty { path: err_path() });
        }
        let blocks = pem_blocks(text).map_err(|reason| KeyError::Malformed {
            path: err_path(),
            reason,
        })?;
        let malformed = |reason: String| KeyError::Malformed {
            path: err_path(),
            reason,
        };
        let mut saw_public = false;
        for block in &blocks {
            match block.label.as_str() {
                "EC PRIVATE KEY" => {
                    let secret = parse_sec1(&block.der).map_err(|e| e.into_key_error(origin))?;
                    return Ok(PrivateKey {
                        signing: SigningKey::from(secret),
                    });
                }
                "PRIVATE KEY" => {
                    let secret = parse_pkcs8(&block.der).map_err(|e| e.into_key_error(origin))?;
                    return Ok(PrivateKey {
                        signing: SigningKey::from(secret),
                    });
                }
                "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted { path: err_path() }),
                "PUBLIC KEY" | "EC PUBLIC KEY" => saw_public = true,
                _ => {}
            }
        }
        if saw_public {
            return Err(KeyError::PublicNotPrivate { path: err_path() });
        }
        if blocks.is_empty() && text.contains("-----BEGIN") {
            return Err(malformed("a PEM block is not terminated".into()));
        }
        Err(KeyError::NoKeyBlock { path: err_path() })
    }

    /// Parse the PEM text of an environment variable `var` (`STARK_PRIVATE_KEY_PEM`). The
    /// text may have literal `\n` escapes instead of line breaks (a one-line `.env` file).
    /// Errors name `var` and never quote the text.
    pub fn from_env_pem(var: &'static str, text: &str) -> Result<Self, KeyError> {
        let unescaped;
        let text = if !text.trim().contains('\n') && text.contains("\\n") {
            unescaped = text.replace("\\r\\n", "\n").replace("\\n", "\n");
            unescaped.as_str()
        } else {
            text
        };
        let one_line = !text.trim().contains('\n');
        let err = match Self::from_pem_named(text, Path::new(var)) {
            Ok(key) => return Ok(key),
            Err(e) => e,
        };
        let problem = match err {
            KeyError::Empty { .. } => "it is empty".to_string(),
            KeyError::NoKeyBlock { .. } if one_line && !text.contains("-----") => {
                "it holds no PEM block, and looks like a file path or a bare value: put the PEM text itself in it (`-----BEGIN EC PRIVATE KEY-----` and the lines after), or name a key file with STARK_PRIVATE_KEY".to_string()
            }
            KeyError::NoKeyBlock { .. } => "it holds no PEM key block (expected `-----BEGIN EC PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----`)".to_string(),
            KeyError::PublicNotPrivate { .. } => {
                "it holds a public key, not the private key (private-key.pem)".to_string()
            }
            KeyError::Encrypted { .. } => "it holds an encrypted private key: decrypt it first, e.g. `openssl ec -in KEY -out private-key.pem`".to_string(),
            KeyError::WrongCurve { curve, .. } => format!(
                "it is a key on {curve}, but Stark Bank uses secp256k1: generate one with `stark keygen`"
            ),
            KeyError::Malformed { reason, .. } if one_line => format!(
                "it is truncated or corrupted ({reason}), and it is one line: keep the PEM's line breaks (a YAML `|` block, or a Secret made with `kubectl create secret generic --from-file`)"
            ),
            KeyError::Malformed { reason, .. } => format!("it is truncated or corrupted: {reason}"),
            other => other.to_string(),
        };
        Err(KeyError::InEnv { var, problem })
    }

    /// Parse PEM text held in memory (errors name it `<memory>`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::from_pem_named(text, Path::new("<memory>"))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            verifying: *self.signing.verifying_key(),
        }
    }

    /// SEC1 `EC PRIVATE KEY` PEM (what `openssl ec -in` reads). Handle with care.
    /// The named curve is included (`[0] secp256k1`), as openssl writes it, so that
    /// `openssl ec -in` and the official SDKs read the file.
    pub fn to_sec1_pem(&self) -> String {
        let secret = self.signing.to_bytes();
        let point = self.signing.verifying_key().to_encoded_point(false);
        let mut der = Vec::with_capacity(118);
        der.extend_from_slice(&[0x30, 0x74, 0x02, 0x01, 0x01, 0x04, 0x20]);
        der.extend_from_slice(&secret);
        der.extend_from_slice(&[0xa0, 0x07, 0x06, 0x05]);
        der.extend_from_slice(OID_SECP256K1);
        der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
        der.extend_from_slice(point.as_bytes());
        debug_assert_eq!(der.len(), 0x76);
        let body = B64.encode(&der);
        let mut pem = String::from("-----BEGIN EC PRIVATE KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END EC PRIVATE KEY-----\n");
        pem
    }

    /// Sign `message` (SHA-256, RFC 6979, low-S) and return the DER bytes.
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    /// Sign `message` and return base64 of the DER signature, the wire form Stark uses.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        B64.encode(self.sign_der(message))
    }
}

impl PublicKey {
    /// Parse an SPKI `BEGIN PUBLIC KEY` PEM (leading/trailing blank lines and CRLF tolerated).
    pub fn from_pem(text: &str) -> Result<Self, KeyDataError> {
        let blocks = pem_blocks(text).map_err(KeyDataError::Pem)?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PUBLIC KEY")
            .ok_or(KeyDataError::NoPublicKeyBlock)?;
        Self::from_spki_der(&block.der)
    }

    /// Read and parse a public key PEM file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|error| KeyError::Read {
            path: path.to_path_buf(),
            error,
            origin: None,
        })?;
        if text.trim().is_empty() {
            return Err(KeyError::Empty {
                path: path.to_path_buf(),
            });
        }
        Self::from_pem(&text).map_err(|e| KeyError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyDataError> {
        let verifying = VerifyingKey::from_public_key_der(der)
            .map_err(|e| KeyDataError::NotSecp256k1(e.to_string()))?;
        Ok(PublicKey { verifying })
    }

    /// SPKI PEM with LF line ends and a trailing newline.
    pub fn to_pem(&self) -> String {
        self.verifying
            .to_public_key_pem(LineEnding::LF)
            .expect("a valid point always encodes")
    }

    pub fn to_spki_der(&self) -> Vec<u8> {
        self.verifying
            .to_public_key_der()
            .expect("a valid point always encodes")
            .as_bytes()
            .to_vec()
    }

    /// `SHA256:` plus the hex SHA-256 of the SPKI DER (what `openssl pkey -pubin -outform DER |
    /// sha256sum` prints).
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.to_spki_der());
        format!("SHA256:{}", hex(&digest))
    }

    /// The uncompressed SEC1 point, hex.
    pub fn point_hex(&self) -> String {
        hex(self.verifying.to_encoded_point(false).as_bytes())
    }

    /// Verify a signature header value (base64 DER, surrounding ASCII whitespace ignored,
    /// high-S accepted) over `message`.
    pub fn verify_base64(&self, message: &[u8], signature: &str) -> Result<(), SignatureError> {
        let sig = decode_signature(signature)?;
        self.verify(message, &sig)
    }

    /// Verify an already decoded, normalized signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        self.verifying
            .verify(message, sig)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Verify over a precomputed SHA-256 digest of the message.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &Signature) -> Result<(), SignatureError> {
        self.verifying
            .verify_prehash(digest, sig)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Decode a `Digital-Signature` / `Access-Signature` value: trim ASCII whitespace, base64
/// (standard alphabet, padding optional), strict DER, then normalize high-S to low-S so that
/// k256's verifier accepts the signatures Stark's servers emit.
pub fn decode_signature(value: &str) -> Result<Signature, SignatureError> {
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(SignatureError::Missing);
    }
    let der = B64
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| SignatureError::Malformed("not valid base64"))?;
    let sig = Signature::from_der(&der)
        .map_err(|_| SignatureError::Malformed("not a DER ECDSA signature"))?;
    Ok(sig.normalize_s().unwrap_or(sig))
}

/// Write a fresh key pair into `dir` as `private-key.pem` (SEC1, mode 0600) and
/// `public-key.pem` (SPKI). Refuses to overwrite unless `force`.
pub fn write_keypair(
    dir: &Path,
    key: &PrivateKey,
    force: bool,
) -> Result<(PathBuf, PathBuf), KeyError> {
    let private_path = dir.join("private-key.pem");
    let public_path = dir.join("public-key.pem");
    if !force {
        for p in [&private_path, &public_path] {
            if p.exists() {
                return Err(KeyError::Exists { path: p.clone() });
            }
        }
    }
    fs::create_dir_all(dir).map_err(|error| KeyError::Write {
        path: dir.to_path_buf(),
        error,
    })?;
    write_atomic(&private_path, key.to_sec1_pem().as_bytes(), 0o600)?;
    write_atomic(&public_path, key.public_key().to_pem().as_bytes(), 0o644)?;
    Ok((private_path, public_path))
}

/// Write to a temporary sibling created with `mode`, fsync, then rename over `path`.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |error| KeyError::Write {
        path: path.to_path_buf(),
        error,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)
}

/// Read a private key file after checking that only its owner can read it.
/// The text of a key file (at most 1 MiB) and its permission bits.
fn read_key_file(path: &Path) -> Result<(String, u32), KeyError> {
    use std::os::unix::fs::MetadataExt;
    let read_err = |error| KeyError::Read {
        path: path.to_path_buf(),
        error,
        origin: None,
    };
    let file = fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if meta.is_dir() {
        return Err(read_err(std::io::Error::other("it is a directory")));
    }
    let mode = meta.mode() & 0o777;
    let mut text = String::new();
    use std::io::Read;
    let mut limited = file.take(1 << 20);
    let mut bytes = Vec::new();
    limited.read_to_end(&mut bytes).map_err(read_err)?;
    match String::from_utf8(bytes) {
        Ok(s) => text.push_str(&s),
        Err(_) => {
            return Err(KeyError::Malformed {
                path: path.to_path_buf(),
                reason: "the file is not text (a binary DER key? convert it with `openssl ec -inform DER -in KEY -out key.pem`)".into(),
            });
        }
    }
    Ok((text, mode))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// PEM

struct PemBlock {
    label: String,
    der: Vec<u8>,
}

/// Every complete `-----BEGIN X-----` .. `-----END X-----` block in `text`. Tolerates CRLF,
/// blank lines, surrounding text and PEM headers (`Proc-Type: ...`).
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()));
    while let Some(line) = lines.next() {
        // A label never holds `-----` (a PEM joined into one line is no block, and its body
        // never becomes a label that an error message would quote).
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .filter(|label| !label.contains("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            if inner == end {
                closed = true;
                break;
            }
            if inner.starts_with("-----") {
                // Quoted only when it is a marker line, never the key's body.
                return Err(
                    match inner
                        .strip_prefix("-----")
                        .and_then(|l| l.strip_suffix("-----"))
                        .filter(|l| !l.contains("-----"))
                    {
                        Some(other) => format!("the `{label}` block ends with `-----{other}-----`"),
                        None => format!("the `{label}` block is cut short by a `-----` line"),
                    },
                );
            }
            if inner.contains(':') {
                continue; // RFC 1421 header such as Proc-Type / DEK-Info
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(format!(
                "the `{label}` block has no END line (file cut short?)"
            ));
        }
        let der = B64
            .decode(body.as_bytes())
            .map_err(|_| format!("the `{label}` block is not valid base64"))?;
        if der.is_empty() {
            return Err(format!("the `{label}` block is empty"));
        }
        blocks.push(PemBlock {
            label: label.to_string(),
            der,
        });
    }
    Ok(blocks)
}

// ---------------------------------------------------------------------------------------------
// DER (just enough of it to read SEC1 and PKCS#8 private keys)

enum ParseError {
    Malformed(String),
    WrongCurve(String),
}

impl ParseError {
    fn into_key_error(self, path: &Path) -> KeyError {
        let path = path.to_path_buf();
        match self {
            ParseError::Malformed(reason) => KeyError::Malformed { path, reason },
            ParseError::WrongCurve(curve) => KeyError::WrongCurve { path, curve },
        }
    }
}

fn bad(reason: &str) -> ParseError {
    ParseError::Malformed(reason.to_string())
}

struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
}

/// Read one TLV from the front of `input`, returning it and the rest.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), ParseError> {
    let truncated = || bad("DER ends early (file truncated?)");
    let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(truncated)?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(truncated());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(truncated());
    }
    Ok((
        Tlv {
            tag,
            value: &rest[..len],
        },
        &rest[len..],
    ))
}

fn expect_tlv<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), ParseError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(ParseError::Malformed(format!("expected {what}")));
    }
    Ok((tlv, rest))
}

const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a]; // 1.3.132.0.10
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1

fn curve_name(oid: &[u8]) -> String {
    match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => "prime256v1 (P-256)".into(),
        [0x2b, 0x81, 0x04, 0x00, 0x22] => "secp384r1 (P-384)".into(),
        [0x2b, 0x81, 0x04, 0x00, 0x23] => "secp521r1 (P-521)".into(),
        [0x2b, 0x65, 0x70] => "Ed25519".into(),
        [0x2b, 0x65, 0x6e] => "X25519".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] => "RSA".into(),
        other => format!("an unknown curve (OID bytes {})", hex(other)),
    }
}

/// secp256k1 domain parameters, for keys saved with explicit parameters.
mod secp256k1_params {
    pub const P: &str = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
    pub const N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    pub const GX: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
}

fn strip_int(bytes: &[u8]) -> &[u8] {
    let mut b = bytes;
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

/// Check an ECParameters CHOICE (named curve OID or explicit SpecifiedECDomain) is secp256k1.
fn check_ec_parameters(tlv: &Tlv<'_>) -> Result<(), ParseError> {
    match tlv.tag {
        0x06 => {
            if tlv.value == OID_SECP256K1 {
                Ok(())
            } else {
                Err(ParseError::WrongCurve(curve_name(tlv.value)))
            }
        }
        0x30 => {
            // SpecifiedECDomain: version, FieldID {prime-field OID, p}, Curve, base, order, ...
            let (_version, rest) = expect_tlv(tlv.value, 0x02, "curve parameters version")?;
            let (field, rest) = expect_tlv(rest, 0x30, "curve field")?;
            let (_ftype, frest) = expect_tlv(field.value, 0x06, "field type")?;
            let (p, _) = expect_tlv(frest, 0x02, "field prime")?;
            let (_curve, rest) = expect_tlv(rest, 0x30, "curve coefficients")?;
            let (base, rest) = expect_tlv(rest, 0x04, "curve generator")?;
            let (order, _) = expect_tlv(rest, 0x02, "curve order")?;
            let gx_ok = base.value.len() >= 33 && hex(&base.value[1..33]) == secp256k1_params::GX;
            if hex(strip_int(p.value)) == secp256k1_params::P
                && hex(strip_int(order.value)) == secp256k1_params::N
                && gx_ok
            {
                Ok(())
            } else {
                Err(ParseError::WrongCurve(
                    "a curve given by explicit parameters".into(),
                ))
            }
        }
        _ => Err(bad("unexpected curve parameters")),
    }
}

fn scalar_from_bytes(bytes: &[u8]) -> Result<k256::SecretKey, String> {
    let stripped = strip_int(bytes);
    if stripped.len() > 32 {
        return Err("the private scalar is longer than 32 bytes".into());
    }
    let mut padded = [0u8; 32];
    padded[32 - stripped.len()..].copy_from_slice(stripped);
    k256::SecretKey::from_slice(&padded).map_err(|_| "the private scalar is out of range".into())
}

/// RFC 5915 ECPrivateKey: version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey.
fn parse_sec1(der: &[u8]) -> Result<k256::SecretKey, ParseError> {
    let (seq, _) = expect_tlv(der, 0x30, "an ECPrivateKey sequence")?;
    let (version, rest) = expect_tlv(seq.value, 0x02, "the key version")?;
    if version.value != [1] {
        return Err(bad("unsupported ECPrivateKey version"));
    }
    let (octets, mut rest) = expect_tlv(rest, 0x04, "the private scalar")?;
    let mut embedded_public: Option<&[u8]> = None;
    while !rest.is_empty() {
        let (field, next) = read_tlv(rest)?;
        match field.tag {
            0xa0 => {
                let (params, _) = read_tlv(field.value)?;
                check_ec_parameters(&params)?;
            }
            0xa1 => {
                let (bits, _) = expect_tlv(field.value, 0x03, "the public key bit string")?;
                embedded_public = bits.value.get(1..);
            }
            _ => return Err(bad("unexpected field in ECPrivateKey")),
        }
        rest = next;
    }
    let secret = scalar_from_bytes(octets.value).map_err(ParseError::Malformed)?;
    if let Some(point) = embedded_public {
        let derived = secret.public_key();
        let matches = derived.to_encoded_point(false).as_bytes() == point
            || derived.to_encoded_point(true).as_bytes() == point;
        if !matches {
            return Err(bad(
                "the embedded public key does not belong to the private key",
            ));
        }
    }
    Ok(secret)
}

/// RFC 5208 PrivateKeyInfo wrapping an ECPrivateKey.
fn parse_pkcs8(der: &[u8]) -> Result<k256::SecretKey, ParseError> {
    let (seq, _) = expect_tlv(der, 0x30, "a PrivateKeyInfo sequence")?;
    let (_version, rest) = expect_tlv(seq.value, 0x02, "the PKCS#8 version")?;
    let (alg, rest) = expect_tlv(rest, 0x30, "the key algorithm")?;
    let (alg_oid, alg_rest) = expect_tlv(alg.value, 0x06, "the key algorithm OID")?;
    if alg_oid.value != OID_EC_PUBLIC_KEY {
        return Err(ParseError::WrongCurve(curve_name(alg_oid.value)));
    }
    if !alg_rest.is_empty() {
        let (params, _) = read_tlv(alg_rest)?;
        check_ec_parameters(&params)?;
    }
    let (inner, _) = expect_tlv(rest, 0x04, "the wrapped private key")?;
    parse_sec1(inner.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC1: &str = "-----BEGIN EC PRIVATE KEY-----\nMHQCAQEEILChZrjrrtFnyCLhcxm/hp+9ljWSmG7Wv9HRugf+FnhkoAcGBSuBBAAK\noUQDQgAEpIAM/tMqXEfLeR93rRHiFcpDB9I18MrnCJyTVk0MdD1J9wgEbRfvAZEL\nYcEGhTFYp2X3B7K7c4gDDCr0Pu1L3A==\n-----END EC PRIVATE KEY-----\n";

    #[test]
    fn debug_never_shows_the_secret() {
        let key = PrivateKey::from_pem(SEC1).unwrap();
        let secret_hex = "b0a166b8ebaed167c822e17319bf869fbd963592986ed6bfd1d1ba07fe167864";
        let dbg = format!("{key:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains(secret_hex));
        assert!(!dbg.contains("MHQCAQEE"));
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let key = PrivateKey::generate();
        let sig = key.sign_base64(b"hello");
        key.public_key().verify_base64(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify_base64(b"hellp", &sig),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn pem_round_trip() {
        let key = PrivateKey::generate();
        let again = PrivateKey::from_pem(&key.to_sec1_pem()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(public, key.public_key());
    }

    #[test]
    fn truncated_block_is_reported() {
        let cut = &SEC1[..SEC1.len() - 40];
        let err = PrivateKey::from_pem(cut).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { .. }), "{err}");
    }

    #[test]
    fn signature_decoding_distinguishes_missing_and_malformed() {
        assert_eq!(
            decode_signature("  \t").unwrap_err(),
            SignatureError::Missing
        );
        assert!(matches!(
            decode_signature("@@@"),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            decode_signature("aGVsbG8="),
            Err(SignatureError::Malformed(_))
        ));
    }
}
