//! `HmacSha256Hex`: decoding arbitrary header values in both formats (bare hex for Hatif and
//! VoiceInfra, `sha256=<hex>` for Voki), and sign/verify over arbitrary bodies and secrets.
//!
//! Properties:
//! - `decode` never panics and accepts exactly the prefix followed by 64 hex digits (either
//!   case, surrounding whitespace ignored); each rejection is the documented error;
//! - a signature made with a secret verifies with that secret (also uppercased and padded),
//!   through `Unverified::verify_signature` too, and names that secret's id;
//! - flipping any byte of the body, or changing any hex digit of the signature, fails with
//!   `Mismatch`; a signature of the other format fails on its format;
//! - a different secret (one HMAC does not treat as the same key) does not verify, and during
//!   a rotation the id of the secret that made the signature is reported;
//! - an arbitrary header verifies only if it decodes to the HMAC of the body;
//! - `Authentication` labels round-trip through `Display`/`FromStr`.

use arbitrary::Arbitrary;
use callvault_verify::{
    Authentication, HmacSha256Hex, Secret, SecretId, SecretSet, Unverified, VerifyError,
};
use sha2::{Digest, Sha256};

/// One fuzz case; `body` takes the rest of the input, so seeds from provider payloads keep
/// their bytes.
#[derive(Debug, Arbitrary)]
struct Input<'a> {
    secret: &'a [u8],
    other_secret: &'a [u8],
    header: &'a str,
    flip: u16,
    body: &'a [u8],
}

const SCHEMES: [(HmacSha256Hex, &str); 2] = [
    (HmacSha256Hex::BARE, ""),
    (HmacSha256Hex::SHA256_PREFIXED, "sha256="),
];

/// The key HMAC-SHA256 actually uses: keys longer than the 64-byte block are hashed, and
/// shorter keys are padded with zero bytes, so trailing zeros do not change the MAC.
fn effective_key(key: &[u8]) -> Vec<u8> {
    let mut key = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    while key.last() == Some(&0) {
        key.pop();
    }
    key
}

/// `decode` against an independent statement of the format.
fn check_decode(scheme: HmacSha256Hex, prefix: &'static str, header: &str) {
    let trimmed = header.trim();
    let result = scheme.decode(header);
    let expected_err = if trimmed.is_empty() {
        Some(VerifyError::MissingSignature)
    } else if let Some(hex_part) = trimmed.strip_prefix(prefix) {
        if hex_part.len() != 64 {
            Some(VerifyError::BadLength {
                expected: 64,
                actual: hex_part.len(),
            })
        } else if !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(VerifyError::NotHex)
        } else {
            None
        }
    } else {
        Some(VerifyError::BadPrefix { expected: prefix })
    };
    match (result, expected_err) {
        (Ok(digest), None) => {
            let hex_part = &trimmed[prefix.len()..];
            assert_eq!(hex_part.to_ascii_lowercase(), hex::encode(digest));
        }
        (Err(err), Some(expected)) => assert_eq!(err, expected, "header {header:?}"),
        (result, expected) => panic!("header {header:?}: got {result:?}, expected {expected:?}"),
    }
}

/// Checks the properties on one input, read as libFuzzer's `fuzz_target!` reads it.
pub fn run(data: &[u8]) {
    let Ok(input) = <Input<'_>>::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    for (scheme, prefix) in SCHEMES {
        check_decode(scheme, prefix, input.header);
    }

    for label in [
        Authentication::Signature(SecretId::new(input.header)),
        Authentication::Token(SecretId::new(input.header)),
        Authentication::Unsigned,
    ] {
        assert_eq!(label.to_string().parse::<Authentication>(), Ok(label));
    }

    if input.secret.is_empty() {
        assert!(SecretSet::new("fuzz", [(SecretId::new("k"), Secret::new(input.secret))]).is_err());
        return;
    }
    let secret = Secret::new(input.secret);
    let set = SecretSet::new("fuzz", [(SecretId::new("k"), secret.clone())]).expect("non-empty");

    for (scheme, prefix) in SCHEMES {
        let signature = scheme.sign(&secret, input.body);
        assert_eq!(signature.len(), prefix.len() + 64);
        assert_eq!(
            scheme
                .verify(Some(&signature), input.body, &set)
                .map(SecretId::as_str),
            Ok("k")
        );
        let padded = format!(
            " \t{}\r\n",
            signature
                .to_ascii_uppercase()
                .replacen("SHA256=", "sha256=", 1)
        );
        assert_eq!(
            scheme
                .verify(Some(&padded), input.body, &set)
                .map(SecretId::as_str),
            Ok("k")
        );
        let verified = Unverified::new(input.body)
            .verify_signature(scheme, Some(&signature), &set)
            .expect("own signature");
        assert_eq!(verified.body(), input.body);
        assert_eq!(
            verified.authentication(),
            &Authentication::Signature(SecretId::new("k"))
        );

        // The arbitrary header verifies only if it is this body's MAC.
        if let Ok(id) = scheme.verify(Some(input.header), input.body, &set) {
            assert_eq!(id.as_str(), "k");
            assert_eq!(scheme.decode(input.header), scheme.decode(&signature));
        }

        // Tampered body.
        if !input.body.is_empty() {
            let mut tampered = input.body.to_vec();
            let at = usize::from(input.flip) % tampered.len();
            tampered[at] ^= (input.flip >> 8) as u8 | 1;
            assert_eq!(
                scheme.verify(Some(&signature), &tampered, &set),
                Err(VerifyError::Mismatch)
            );
        }

        // Tampered signature: one hex digit changed to another value.
        let mut digits = signature.clone().into_bytes();
        let at = prefix.len() + usize::from(input.flip) % 64;
        let value = u8::from_str_radix(&signature[at..=at], 16).expect("hex");
        let other = (value + 1 + (input.flip >> 8) as u8 % 15) % 16;
        digits[at] = format!("{other:x}").as_bytes()[0];
        let tampered = String::from_utf8(digits).expect("ascii");
        assert_eq!(
            scheme.verify(Some(&tampered), input.body, &set),
            Err(VerifyError::Mismatch)
        );
    }

    // The other format is refused on its format, before any MAC is compared.
    let bare = HmacSha256Hex::BARE.sign(&secret, input.body);
    let prefixed = HmacSha256Hex::SHA256_PREFIXED.sign(&secret, input.body);
    assert_eq!(
        HmacSha256Hex::SHA256_PREFIXED.verify(Some(&bare), input.body, &set),
        Err(VerifyError::BadPrefix {
            expected: "sha256="
        })
    );
    assert_eq!(
        HmacSha256Hex::BARE.verify(Some(&prefixed), input.body, &set),
        Err(VerifyError::BadLength {
            expected: 64,
            actual: 71
        })
    );

    // Another secret, alone and in a rotation.
    if input.other_secret.is_empty() {
        return;
    }
    let other = Secret::new(input.other_secret);
    let same_key = effective_key(input.secret) == effective_key(input.other_secret);
    let by_other = HmacSha256Hex::BARE.sign(&other, input.body);
    if same_key {
        assert_eq!(by_other, bare);
    } else {
        assert_eq!(
            HmacSha256Hex::BARE.verify(Some(&by_other), input.body, &set),
            Err(VerifyError::Mismatch)
        );
    }
    let rotation = SecretSet::new(
        "fuzz",
        [
            (SecretId::new("old"), other),
            (SecretId::new("new"), secret),
        ],
    )
    .expect("non-empty");
    let expect_new = if same_key { "old" } else { "new" };
    assert_eq!(
        HmacSha256Hex::BARE
            .verify(Some(&bare), input.body, &rotation)
            .map(SecretId::as_str),
        Ok(expect_new)
    );
    assert_eq!(
        HmacSha256Hex::BARE
            .verify(Some(&by_other), input.body, &rotation)
            .map(SecretId::as_str),
        Ok("old")
    );
}
