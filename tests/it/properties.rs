//! Properties of the pure crypto and signing parts (CPF, money and slots have theirs in
//! `src/domain/`): base64/DER signature round trips, high-S normalization, PEM round trips and
//! the structure of the signed request message.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use k256::ecdsa::Signature;
use proptest::prelude::*;
use stark::api::auth::{sign_request, signing_message, verify_request};
use stark::keys::{PrivateKey, PublicKey, SignatureError, decode_signature};

fn key_from(bytes: [u8; 32]) -> Option<PrivateKey> {
    PrivateKey::from_secret_bytes(&bytes).ok()
}

/// The same signature with s replaced by n − s (the "high-S twin" Stark's servers may send).
fn high_s_twin(sig: &Signature) -> Signature {
    let (r, s) = sig.split_scalars();
    let neg = -*s;
    Signature::from_scalars(r.to_bytes(), neg.to_bytes()).expect("r and n-s are in range")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// sign → base64 → decode_signature → verify, in every accepted spelling.
    #[test]
    fn signature_base64_der_round_trip(
        secret in any::<[u8; 32]>(),
        message in proptest::collection::vec(any::<u8>(), 0..256),
        pad in "[ \t\r\n]{0,3}",
    ) {
        let Some(key) = key_from(secret) else { return Ok(()) };
        let public = key.public_key();
        let der = key.sign_der(&message);
        let b64 = key.sign_base64(&message);
        prop_assert_eq!(&b64, &STANDARD.encode(&der));
        let decoded = decode_signature(&b64).unwrap();
        prop_assert_eq!(decoded, Signature::from_der(&der).unwrap());
        prop_assert_eq!(decoded.to_der().as_bytes().to_vec(), der.clone(), "DER re-encodes identically");
        prop_assert!(decoded.normalize_s().is_none(), "we sign low-S");
        public.verify(&message, &decoded).unwrap();
        public.verify_base64(&message, &format!("{pad}{b64}{pad}")).unwrap();
        public.verify_base64(&message, &STANDARD_NO_PAD.encode(&der)).unwrap();
        // Another message does not verify.
        let mut other = message.clone();
        other.push(0);
        prop_assert_eq!(public.verify_base64(&other, &b64), Err(SignatureError::Mismatch));
    }

    /// For any signature, the DER of (r, n − s) decodes to the same normalized signature and
    /// verifies the same way.
    #[test]
    fn high_s_twin_decodes_and_verifies_the_same(
        secret in any::<[u8; 32]>(),
        message in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let Some(key) = key_from(secret) else { return Ok(()) };
        let public = key.public_key();
        let low = Signature::from_der(&key.sign_der(&message)).unwrap();
        let high = high_s_twin(&low);
        prop_assert_ne!(high, low);
        prop_assert!(high.normalize_s().is_some(), "the twin is high-S");
        let high_b64 = STANDARD.encode(high.to_der().as_bytes());
        let decoded = decode_signature(&high_b64).unwrap();
        prop_assert_eq!(decoded, low);
        prop_assert_eq!(public.verify_base64(&message, &high_b64), Ok(()));
        let mut other = message.clone();
        other.push(1);
        prop_assert_eq!(public.verify_base64(&other, &high_b64), Err(SignatureError::Mismatch));
        // A different key rejects both twins alike.
        let stranger = key_from([0x11; 32]).unwrap().public_key();
        if stranger != public {
            prop_assert_eq!(
                stranger.verify_base64(&message, &high_b64),
                stranger.verify_base64(&message, &STANDARD.encode(low.to_der().as_bytes()))
            );
        }
    }

    /// Public and private keys survive their PEM forms (LF or CRLF, blank lines around).
    #[test]
    fn key_pem_round_trip(secret in any::<[u8; 32]>(), crlf in any::<bool>(), blank in 0usize..3) {
        let Some(key) = key_from(secret) else { return Ok(()) };
        let public = key.public_key();
        let wrap = |pem: String| {
            let pem = if crlf { pem.replace('\n', "\r\n") } else { pem };
            format!("{}{pem}{}", "\n".repeat(blank), "\n".repeat(blank))
        };
        let pub_pem = public.to_pem();
        prop_assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        prop_assert_eq!(PublicKey::from_pem(&wrap(pub_pem.clone())).unwrap(), public.clone());
        prop_assert_eq!(PublicKey::from_spki_der(&public.to_spki_der()).unwrap(), public.clone());
        let again = PrivateKey::from_pem(&wrap(key.to_sec1_pem())).unwrap();
        prop_assert_eq!(again.public_key(), public.clone());
        prop_assert_eq!(again.to_sec1_pem(), key.to_sec1_pem());
        prop_assert_eq!(again.public_key().fingerprint(), public.fingerprint());
    }

    /// `accessId:accessTime:body`, exactly; parts are recoverable when id and time hold no
    /// colon; signing covers all three.
    #[test]
    fn signing_message_structure(
        id in "[a-z]{1,8}/[0-9]{1,16}",
        time in "[0-9]{1,10}(\\.[0-9]{1,6})?",
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let msg = signing_message(&id, &time, &body);
        prop_assert_eq!(msg.len(), id.len() + time.len() + body.len() + 2);
        let mut parts = msg.splitn(3, |b| *b == b':');
        prop_assert_eq!(parts.next().unwrap(), id.as_bytes());
        prop_assert_eq!(parts.next().unwrap(), time.as_bytes());
        prop_assert_eq!(parts.next().unwrap(), body.as_slice());
        // Moving the separator changes the message: no two (id, time) pairs collide.
        let shifted = signing_message(&format!("{id}{}", &time[..1]), &time[1..], &body);
        prop_assert_ne!(shifted, msg);
    }

    /// What `sign_request` signs is what `verify_request` checks; any other id, time or body
    /// fails.
    #[test]
    fn request_signatures_bind_id_time_and_body(
        time in 1_600_000_000u64..1_900_000_000,
        body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let key = key_from([0x42; 32]).unwrap();
        let public = key.public_key();
        let time = time.to_string();
        let h = sign_request(&key, "project/7", &time, &body);
        prop_assert_eq!(h.access_id.as_str(), "project/7");
        prop_assert_eq!(&h.access_time, &time);
        prop_assert_eq!(verify_request(&public, "project/7", &time, &body, &h.access_signature), Ok(()));
        prop_assert!(verify_request(&public, "project/8", &time, &body, &h.access_signature).is_err());
        let later = format!("{}", time.parse::<u64>().unwrap() + 1);
        prop_assert!(verify_request(&public, "project/7", &later, &body, &h.access_signature).is_err());
        let mut changed = body.clone();
        changed.push(b'x');
        prop_assert!(verify_request(&public, "project/7", &time, &changed, &h.access_signature).is_err());
    }
}
