//! Signed notes (a port of x/mod `sumdb/note`): Ed25519 verifier keys,
//! opening (verifying) notes, and signing (used by tests and test servers).
//!
//! A signed note is `text` (ending in a newline), a blank line, then one or
//! more lines `— <name> <base64(keyhash4 ‖ signature)>`. The signature covers
//! `text` including its final newline.

use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::Error;

/// Algorithm byte for Ed25519 keys, the only one defined.
const ALG_ED25519: u8 = 1;

/// Most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;

/// Largest note this crate opens. Tree notes are a few hundred bytes; the
/// bound keeps hostile inputs cheap.
pub const MAX_NOTE_SIZE: usize = 1_000_000;

const SIG_PREFIX: &str = "— ";

/// `bigEndianUint32(SHA-256(name ‖ "\n" ‖ key)[0:4])`.
fn key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let sum = h.finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

/// A server name is non-empty, has no Unicode white space and no `+`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace) && !name.contains('+')
}

/// Splits `a+b` at the first `+` (Go `strings.Cut`): the rest is empty when there is none.
fn cut_plus(s: &str) -> (&str, &str) {
    s.split_once('+').unwrap_or((s, ""))
}

/// Parses an 8-digit hex key hash like Go's `strconv.ParseUint(s, 16, 32)`
/// with the length check of x/mod.
fn parse_hash8(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// A key that can verify signatures of one named server.
#[derive(Clone, Debug)]
pub struct Verifier {
    name: String,
    key_hash: u32,
    /// `None` when the 32 bytes are not a valid curve point: like Go, such a
    /// key parses but verifies nothing.
    key: Option<VerifyingKey>,
}

impl Verifier {
    /// Parses `<name>+<hash8hex>+<base64(0x01 ‖ pubkey32)>` (x/mod `NewVerifier`).
    pub fn parse(vkey: &str) -> Result<Verifier, Error> {
        let (name, rest) = cut_plus(vkey);
        let (hash16, key64) = cut_plus(rest);
        let hash = parse_hash8(hash16);
        let key = b64::decode(key64);
        let (Some(hash), Some(key)) = (hash, key) else {
            return Err(Error::MalformedVerifierId);
        };
        if !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedVerifierId);
        }
        if hash != key_hash(name, &key) {
            return Err(Error::InvalidVerifierHash);
        }
        let Some((&alg, public)) = key.split_first() else {
            return Err(Error::MalformedVerifierId);
        };
        if alg != ALG_ED25519 {
            return Err(Error::UnknownVerifierAlgorithm);
        }
        let public: [u8; 32] = public.try_into().map_err(|_| Error::MalformedVerifierId)?;
        Ok(Verifier {
            name: name.to_string(),
            key_hash: hash,
            key: VerifyingKey::from_bytes(&public).ok(),
        })
    }

    /// The server name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// Does `sig` sign `msg` under this key?
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(key), Ok(sig)) = (&self.key, ed25519_dalek::Signature::from_slice(sig)) else {
            return false;
        };
        key.verify(msg, &sig).is_ok()
    }
}

/// A private key that signs notes for one named server.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key_hash: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.key_hash)
    }
}

impl Signer {
    /// Parses `PRIVATE+KEY+<name>+<hash8hex>+<base64(0x01 ‖ seed32)>` (x/mod `NewSigner`).
    pub fn parse(skey: &str) -> Result<Signer, Error> {
        let (priv1, rest) = cut_plus(skey);
        let (priv2, rest) = cut_plus(rest);
        let (name, rest) = cut_plus(rest);
        let (hash16, key64) = cut_plus(rest);
        let (Some(hash), Some(key)) = (parse_hash8(hash16), b64::decode(key64)) else {
            return Err(Error::MalformedSignerId);
        };
        if priv1 != "PRIVATE" || priv2 != "KEY" || !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedSignerId);
        }
        let Some((&alg, seed)) = key.split_first() else {
            return Err(Error::MalformedSignerId);
        };
        if alg != ALG_ED25519 {
            return Err(Error::UnknownVerifierAlgorithm);
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| Error::MalformedSignerId)?;
        let key = SigningKey::from_bytes(&seed);
        let mut public = vec![ALG_ED25519];
        public.extend_from_slice(key.verifying_key().as_bytes());
        if hash != key_hash(name, &public) {
            return Err(Error::InvalidVerifierHash);
        }
        Ok(Signer {
            name: name.to_string(),
            key_hash: hash,
            key,
        })
    }

    /// A signer from a raw 32-byte Ed25519 seed (for tests).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, Error> {
        if !is_valid_name(name) {
            return Err(Error::CannotSign("invalid signer name"));
        }
        let key = SigningKey::from_bytes(&seed);
        let mut public = vec![ALG_ED25519];
        public.extend_from_slice(key.verifying_key().as_bytes());
        Ok(Signer {
            name: name.to_string(),
            key_hash: key_hash(name, &public),
            key,
        })
    }

    /// The server name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The matching verifier key string `<name>+<hash>+<base64 key>`.
    pub fn verifier_key(&self) -> String {
        let mut public = vec![ALG_ED25519];
        public.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            b64::encode(&public)
        )
    }

    /// A signature line for `text` claiming key hash `claimed_hash` (tests
    /// use a wrong claim to build bad notes).
    pub fn signature_line(&self, text: &str, claimed_hash: u32) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = claimed_hash.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, b64::encode(&raw))
    }
}

/// Signs `text` (which must end in a newline) with each signer (x/mod `Sign`
/// for a note without previous signatures).
pub fn sign(text: &str, signers: &[&Signer]) -> Result<Vec<u8>, Error> {
    if !text.ends_with('\n') {
        return Err(Error::CannotSign("note text must end in newline"));
    }
    let mut out = String::from(text);
    out.push('\n');
    for s in signers {
        out.push_str(&s.signature_line(text, s.key_hash));
    }
    Ok(out.into_bytes())
}

/// The verifiers known to a reader of notes.
#[derive(Clone, Debug, Default)]
pub struct Verifiers {
    list: Vec<Verifier>,
}

impl Verifiers {
    /// A set of known verifiers.
    pub fn new(list: Vec<Verifier>) -> Verifiers {
        Verifiers { list }
    }

    /// The verifier for `name` and `key_hash`; `Ok(None)` when unknown.
    fn find(&self, name: &str, key_hash: u32) -> Result<Option<&Verifier>, Error> {
        let mut found = self
            .list
            .iter()
            .filter(|v| v.name == name && v.key_hash == key_hash);
        let first = found.next();
        if first.is_some() && found.next().is_some() {
            return Err(Error::AmbiguousVerifier {
                name: name.to_string(),
                key_hash,
            });
        }
        Ok(first)
    }
}

impl From<Verifier> for Verifiers {
    fn from(v: Verifier) -> Verifiers {
        Verifiers { list: vec![v] }
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Server name.
    pub name: String,
    /// Key hash claimed by the signature.
    pub key_hash: u32,
    /// The base64 of key hash and signature, as written.
    pub base64: String,
}

/// An opened (verified) note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Signatures verified with a known key.
    pub sigs: Vec<Signature>,
    /// Signatures by unknown keys (kept, not trusted).
    pub unverified_sigs: Vec<Signature>,
}

/// Verifies a signed note against the known verifiers (x/mod `Open`):
/// signatures by unknown keys are kept as unverified; a known key with a
/// bad signature is an error; at least one verified signature is required.
pub fn open(msg: &[u8], known: &Verifiers) -> Result<Note, Error> {
    if msg.len() > MAX_NOTE_SIZE {
        return Err(Error::MalformedNote);
    }
    // Whole message: UTF-8 without control characters other than newline.
    let msg = std::str::from_utf8(msg).map_err(|_| Error::MalformedNote)?;
    if msg.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(Error::MalformedNote);
    }
    let split = msg.rfind("\n\n").ok_or(Error::MalformedNote)?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(Error::MalformedNote);
    }
    let mut note = Note {
        text: text.to_string(),
        sigs: Vec::new(),
        unverified_sigs: Vec::new(),
    };
    let mut seen: Vec<(String, u32)> = Vec::new();
    let mut seen_unverified: Vec<&str> = Vec::new();
    let mut unknown_keys: Vec<String> = Vec::new();
    for (count, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(Error::MalformedNote)?;
        let (name, b64sig) = rest.split_once(' ').unwrap_or((rest, ""));
        let raw = b64::decode(b64sig).ok_or(Error::MalformedNote)?;
        if !is_valid_name(name) || b64sig.is_empty() || raw.len() < 5 {
            return Err(Error::MalformedNote);
        }
        let (hash_bytes, sig) = raw.split_at(4);
        let hash = u32::from_be_bytes([hash_bytes[0], hash_bytes[1], hash_bytes[2], hash_bytes[3]]);
        if count + 1 > MAX_SIGNATURES {
            return Err(Error::MalformedNote);
        }
        let signature = Signature {
            name: name.to_string(),
            key_hash: hash,
            base64: b64sig.to_string(),
        };
        let Some(verifier) = known.find(name, hash)? else {
            if !seen_unverified.contains(&rest) {
                seen_unverified.push(rest);
                unknown_keys.push(format!("{name}+{hash:08x}"));
                note.unverified_sigs.push(signature);
            }
            continue;
        };
        if seen.iter().any(|(n, h)| n == name && *h == hash) {
            continue;
        }
        seen.push((name.to_string(), hash));
        if !verifier.verify(text.as_bytes(), sig) {
            return Err(Error::InvalidSignature {
                name: name.to_string(),
                key_hash: hash,
            });
        }
        note.sigs.push(signature);
    }
    if note.sigs.is_empty() {
        return Err(Error::UnverifiedNote { unknown_keys });
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn peter_msg() -> String {
        format!("{PETER_TEXT}\n{PETER_SIG}")
    }

    /// The worked example of the x/mod note package documentation.
    #[test]
    fn peter_neumann_note() {
        let v = Verifier::parse(PETER_VKEY).unwrap();
        assert_eq!((v.name(), v.key_hash()), ("PeterNeumann", 0xc74f20a3));
        let n = open(peter_msg().as_bytes(), &Verifiers::from(v)).unwrap();
        assert_eq!(n.text, PETER_TEXT);
        assert_eq!(n.sigs.len(), 1);
        assert_eq!(n.sigs[0].key_hash, 0xc74f20a3);
        // Ed25519 is deterministic: our signer reproduces the documented note.
        let s = Signer::parse(PETER_SKEY).unwrap();
        assert_eq!(s.verifier_key(), PETER_VKEY);
        assert_eq!(
            String::from_utf8(sign(PETER_TEXT, &[&s]).unwrap()).unwrap(),
            peter_msg()
        );
    }

    #[test]
    fn open_rejections() {
        let known = Verifiers::from(Verifier::parse(PETER_VKEY).unwrap());
        let msg = peter_msg();
        // Tampered text: known key, bad signature.
        let tampered = msg.replacen("cryptography", "cryptographY", 1);
        assert_eq!(
            open(tampered.as_bytes(), &known),
            Err(Error::InvalidSignature {
                name: "PeterNeumann".into(),
                key_hash: 0xc74f20a3
            })
        );
        // Unknown key only.
        let other = Signer::from_seed("PeterNeumann", [7; 32]).unwrap();
        let by_other = String::from_utf8(sign(PETER_TEXT, &[&other]).unwrap()).unwrap();
        assert!(matches!(
            open(by_other.as_bytes(), &known),
            Err(Error::UnverifiedNote { .. })
        ));
        // Unknown key alongside the known one: accepted, kept as unverified.
        let both = format!(
            "{msg}{}",
            other.signature_line(PETER_TEXT, other.key_hash())
        );
        let n = open(both.as_bytes(), &known).unwrap();
        assert_eq!((n.sigs.len(), n.unverified_sigs.len()), (1, 1));
        // Other key claiming the known key's hash: invalid signature.
        let forged = format!(
            "{PETER_TEXT}\n{}",
            other.signature_line(PETER_TEXT, 0xc74f20a3)
        );
        assert!(matches!(
            open(forged.as_bytes(), &known),
            Err(Error::InvalidSignature { .. })
        ));
        for bad in [
            PETER_TEXT.to_string(),                               // no signatures
            format!("{PETER_TEXT}\n"),                            // empty signature block
            format!("{PETER_TEXT}\n{}", PETER_SIG.trim_end()),    // no final newline
            format!("{PETER_TEXT}\n- PeterNeumann x08go/ZJ==\n"), // wrong dash
            format!("{PETER_TEXT}\n— PeterNeumann\n"),            // no base64
            format!("{PETER_TEXT}\n— PeterNeumann AAAA\n"),       // too short
            format!(
                "{PETER_TEXT}\n— Peter+Neumann {}",
                &PETER_SIG["— PeterNeumann ".len()..]
            ),
            format!("a\tb\n{}", &msg[PETER_TEXT.len()..]), // control character
        ] {
            assert_eq!(
                open(bad.as_bytes(), &known),
                Err(Error::MalformedNote),
                "{bad:?}"
            );
        }
        assert_eq!(open(b"\xff\n\n", &known), Err(Error::MalformedNote));
        // Too many signatures.
        let many = format!("{msg}{}", other.signature_line(PETER_TEXT, 1).repeat(100));
        assert_eq!(open(many.as_bytes(), &known), Err(Error::MalformedNote));
        // Duplicate verifiers are ambiguous.
        let v = Verifier::parse(PETER_VKEY).unwrap();
        let dup = Verifiers::new(vec![v.clone(), v]);
        assert!(matches!(
            open(msg.as_bytes(), &dup),
            Err(Error::AmbiguousVerifier { .. })
        ));
    }

    #[test]
    fn verifier_key_rejections() {
        assert_eq!(
            Verifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .unwrap_err(),
            Error::InvalidVerifierHash
        );
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(Verifier::parse(bad).is_err(), "{bad}");
        }
        // The local test database key of protocol.md §7.7 item 65.
        let v = Verifier::parse(
            "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6",
        )
        .unwrap();
        let s = Signer::parse("PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk")
            .unwrap();
        let msg = sign("hello\n", &[&s]).unwrap();
        assert_eq!(open(&msg, &Verifiers::from(v)).unwrap().text, "hello\n");
    }

    /// Port of x/mod note_test.go TestOpen (PeterNeumann and EnochRoot vectors).
    #[test]
    fn x_mod_test_open() {
        let peter_v = Verifier::parse(PETER_VKEY).unwrap();
        let enoch_v =
            Verifier::parse("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop")
                .unwrap();
        let text = PETER_TEXT;
        let peter_sig = PETER_SIG;
        let enoch_sig = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
        let peter = Signature {
            name: "PeterNeumann".into(),
            key_hash: 0xc74f20a3,
            base64: "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=".into(),
        };
        let enoch = Signature {
            name: "EnochRoot".into(),
            key_hash: 0xaf0cfe78,
            base64: "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=".into(),
        };
        let both = format!("{text}\n{peter_sig}{enoch_sig}");
        let only_peter = Verifiers::from(peter_v.clone());

        let n = open(both.as_bytes(), &only_peter).unwrap();
        assert_eq!(n.text, text);
        assert_eq!(n.sigs, vec![peter.clone()]);
        assert_eq!(n.unverified_sigs, vec![enoch.clone()]);

        let n = open(
            both.as_bytes(),
            &Verifiers::new(vec![peter_v.clone(), enoch_v.clone()]),
        )
        .unwrap();
        assert_eq!(n.sigs, vec![peter.clone(), enoch.clone()]);
        assert!(n.unverified_sigs.is_empty());

        let err = open(both.as_bytes(), &Verifiers::default()).unwrap_err();
        assert!(
            matches!(&err, Error::UnverifiedNote { unknown_keys } if unknown_keys.len() == 2),
            "{err:?}"
        );

        let dup = Verifiers::new(vec![enoch_v.clone(), peter_v.clone(), enoch_v.clone()]);
        let err = open(format!("{text}\n{enoch_sig}").as_bytes(), &dup).unwrap_err();
        assert_eq!(err.to_string(), "ambiguous key EnochRoot+af0cfe78");
        open(format!("{text}\n{peter_sig}").as_bytes(), &dup).unwrap();

        let many = format!("{text}\n{}", peter_sig.repeat(101));
        assert_eq!(
            open(many.as_bytes(), &only_peter),
            Err(Error::MalformedNote)
        );
        assert_eq!(
            open(many.as_bytes(), &Verifiers::default()),
            Err(Error::MalformedNote)
        );

        // The signature is split inside its base64 (byte 60 is ASCII there).
        let bad_sig = format!("{text}\n{}ABCD{}", &peter_sig[..60], &peter_sig[60..]);
        let err = open(bad_sig.as_bytes(), &only_peter).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid signature for key PeterNeumann+c74f20a3"
        );

        let enoch_abcd = Signature {
            base64: "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=".into(),
            ..enoch.clone()
        };
        let dups = format!(
            "{text}\n{peter_sig}{peter_sig}{enoch_sig}{enoch_sig}{}ABCD{}",
            &enoch_sig[..60],
            &enoch_sig[60..]
        );
        let n = open(dups.as_bytes(), &only_peter).unwrap();
        assert_eq!(n.sigs, vec![peter]);
        assert_eq!(n.unverified_sigs, vec![enoch, enoch_abcd]);

        for bad in [
            text.to_string(),
            format!("{text}\n"),
            format!("{text}\n{}", &peter_sig[..peter_sig.len() - 1]),
            format!("\x01{text}\n{peter_sig}"),
            format!("{text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
            format!("{text}\n{peter_sig}Unexpected line.\n"),
        ] {
            assert_eq!(open(bad.as_bytes(), &only_peter), Err(Error::MalformedNote), "{bad:?}");
        }
        let mut invalid_utf8 = b"\xff".to_vec();
        invalid_utf8.extend_from_slice(format!("{text}\n{peter_sig}").as_bytes());
        assert_eq!(open(&invalid_utf8, &only_peter), Err(Error::MalformedNote));
    }

    /// Port of x/mod note_test.go TestNewVerifier: every proper substring and
    /// every single-byte change of a good key is refused.
    #[test]
    fn x_mod_test_new_verifier() {
        Verifier::parse(PETER_VKEY).unwrap();
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let k = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(Verifier::parse(k).is_err(), "{k}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let k = String::from_utf8(m).unwrap();
            assert!(Verifier::parse(&k).is_err(), "{k}");
        }
        // Wrong key length and unknown algorithm, each with a matching key hash.
        assert_eq!(
            Verifier::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .unwrap_err(),
            Error::MalformedVerifierId
        );
        assert_eq!(
            Verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .unwrap_err(),
            Error::UnknownVerifierAlgorithm
        );
    }
}
