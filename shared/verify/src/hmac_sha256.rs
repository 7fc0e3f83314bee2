use hmac::Mac;
use subtle::{Choice, ConstantTimeEq};

use crate::{Secret, SecretId, SecretSet, VerifyError};

const DIGEST_LEN: usize = 32;
const HEX_LEN: usize = DIGEST_LEN * 2;

/// HMAC-SHA256 of the raw body, sent as hex after an optional fixed prefix.
///
/// Hatif (`X-Voxa-Signature`) and VoiceInfra (`X-VoiceInfra-Signature`) send bare hex
/// ([`HmacSha256Hex::BARE`]); Voki (`X-Voki-Signature`) sends `sha256=<hex>`
/// ([`HmacSha256Hex::SHA256_PREFIXED`]). Hex digits are accepted in either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HmacSha256Hex {
    prefix: &'static str,
}

impl HmacSha256Hex {
    /// Bare hex digest, no prefix.
    pub const BARE: Self = Self { prefix: "" };
    /// `sha256=` followed by the hex digest.
    pub const SHA256_PREFIXED: Self = Self { prefix: "sha256=" };

    /// The signature header value a provider would send for `body` (lowercase hex).
    pub fn sign(&self, secret: &Secret, body: &[u8]) -> String {
        format!("{}{}", self.prefix, hex::encode(mac(secret, body)))
    }

    /// Decodes a header value into digest bytes, checking prefix, length and alphabet.
    pub fn decode(&self, header: &str) -> Result<[u8; DIGEST_LEN], VerifyError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(VerifyError::MissingSignature);
        }
        let hex_part = header
            .strip_prefix(self.prefix)
            .ok_or(VerifyError::BadPrefix {
                expected: self.prefix,
            })?;
        if hex_part.len() != HEX_LEN {
            return Err(VerifyError::BadLength {
                expected: HEX_LEN,
                actual: hex_part.len(),
            });
        }
        let mut out = [0u8; DIGEST_LEN];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| VerifyError::NotHex)?;
        Ok(out)
    }

    /// Checks `header` against every secret in `secrets` and returns the id of the one that
    /// produced it. Every secret is tried, whatever matches first, so timing does not tell
    /// which secret (or how much of a signature) matched.
    pub fn verify<'s>(
        &self,
        header: Option<&str>,
        body: &[u8],
        secrets: &'s SecretSet,
    ) -> Result<&'s SecretId, VerifyError> {
        let presented = self.decode(header.ok_or(VerifyError::MissingSignature)?)?;
        let mut matched: Option<&'s SecretId> = None;
        for (id, secret) in secrets.iter() {
            let is_match: Choice = mac(secret, body).ct_eq(&presented);
            if bool::from(is_match) && matched.is_none() {
                matched = Some(id);
            }
        }
        matched.ok_or(VerifyError::Mismatch)
    }
}

fn mac(secret: &Secret, body: &[u8]) -> [u8; DIGEST_LEN] {
    let mut mac = secret.hmac();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4231 test case 2.
    #[test]
    fn rfc4231_known_answer() {
        let sig = HmacSha256Hex::BARE.sign(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// Signatures computed with the seeds' documented algorithm (Python's `hmac.new(secret,
    /// payload, hashlib.sha256).hexdigest()`) over the VoiceInfra example payload.
    #[test]
    fn voiceinfra_seed_known_answer() {
        let body = include_bytes!("../../../tests/fixtures/voiceinfra.json");
        let set = SecretSet::single("k", "whsec_voiceinfra_example");
        let expected = "4bbf481b19af0773a7d04dd6c94fceaa8dd52b743afc57315f31e267bfc77f06";
        assert_eq!(
            HmacSha256Hex::BARE.sign(&Secret::new("whsec_voiceinfra_example"), body),
            expected
        );
        assert_eq!(
            HmacSha256Hex::BARE
                .verify(Some(expected), body, &set)
                .map(SecretId::as_str),
            Ok("k")
        );
    }

    /// Voki's documented form is `sha256=` + hex digest.
    #[test]
    fn voki_seed_known_answer() {
        let body = include_bytes!("../../../tests/fixtures/voki-call-completed.json");
        let expected = "sha256=0942ffbe64647e00f6c43e3d80104f283078bd70a6fa81bc6218f1a07f933fb8";
        assert_eq!(
            HmacSha256Hex::SHA256_PREFIXED.sign(&Secret::new("voki_example_secret"), body),
            expected
        );
    }

    /// Hatif's documented form is the lowercase hex digest keyed by the channel secret.
    #[test]
    fn hatif_seed_known_answer() {
        let body = include_bytes!("../../../tests/fixtures/hatif-call.json");
        let expected = "0e042943062fcec0350da9b56c9bd57da4848576246fb2c785458a44be8339d5";
        assert_eq!(
            HmacSha256Hex::BARE.sign(&Secret::new("hatif_channel_secret"), body),
            expected
        );
    }

    #[test]
    fn accepts_uppercase_hex_and_surrounding_whitespace() {
        let set = SecretSet::single("k", "s");
        let sig = HmacSha256Hex::BARE.sign(&Secret::new("s"), b"body");
        let upper = format!("  {}\t", sig.to_uppercase());
        assert!(HmacSha256Hex::BARE
            .verify(Some(&upper), b"body", &set)
            .is_ok());
    }

    #[test]
    fn distinct_errors_for_each_malformation() {
        let set = SecretSet::single("k", "s");
        let scheme = HmacSha256Hex::SHA256_PREFIXED;
        let good = scheme.sign(&Secret::new("s"), b"body");
        let hex_part = &good["sha256=".len()..];
        let cases: Vec<(Option<String>, VerifyError)> = vec![
            (None, VerifyError::MissingSignature),
            (Some(String::new()), VerifyError::MissingSignature),
            (
                Some(hex_part.to_owned()),
                VerifyError::BadPrefix {
                    expected: "sha256=",
                },
            ),
            (
                Some(format!("sha1={hex_part}")),
                VerifyError::BadPrefix {
                    expected: "sha256=",
                },
            ),
            (
                Some(format!("sha256={}", &hex_part[..63])),
                VerifyError::BadLength {
                    expected: 64,
                    actual: 63,
                },
            ),
            (
                Some(format!("sha256={hex_part}00")),
                VerifyError::BadLength {
                    expected: 64,
                    actual: 66,
                },
            ),
            (
                Some(format!("sha256={}zz", &hex_part[..62])),
                VerifyError::NotHex,
            ),
            (
                Some(scheme.sign(&Secret::new("other"), b"body")),
                VerifyError::Mismatch,
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                scheme.verify(header.as_deref(), b"body", &set),
                Err(expected.clone()),
                "header {header:?}"
            );
        }
    }

    #[test]
    fn rotation_reports_which_secret_matched() {
        let set = SecretSet::new(
            "test",
            [
                (SecretId::new("2026-11"), Secret::new("new")),
                (SecretId::new("2026-05"), Secret::new("old")),
            ],
        )
        .expect("valid");
        for (secret, id) in [("new", "2026-11"), ("old", "2026-05")] {
            let sig = HmacSha256Hex::BARE.sign(&Secret::new(secret), b"payload");
            assert_eq!(
                HmacSha256Hex::BARE
                    .verify(Some(&sig), b"payload", &set)
                    .map(SecretId::as_str),
                Ok(id)
            );
        }
    }

    proptest! {
        #[test]
        fn any_single_bit_flip_in_body_fails(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            secret in proptest::collection::vec(any::<u8>(), 1..64),
            bit in any::<proptest::sample::Index>(),
        ) {
            let set = SecretSet::single("k", secret.clone());
            let sig = HmacSha256Hex::BARE.sign(&Secret::new(secret), &body);
            prop_assert!(HmacSha256Hex::BARE.verify(Some(&sig), &body, &set).is_ok());
            let mut tampered = body.clone();
            let i = bit.index(body.len() * 8);
            tampered[i / 8] ^= 1 << (i % 8);
            prop_assert_eq!(
                HmacSha256Hex::BARE.verify(Some(&sig), &tampered, &set),
                Err(VerifyError::Mismatch)
            );
        }

        #[test]
        fn any_single_bit_flip_in_signature_fails(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            bit in 0usize..256,
        ) {
            let set = SecretSet::single("k", "secret");
            let sig = HmacSha256Hex::SHA256_PREFIXED.sign(&Secret::new("secret"), &body);
            let mut digest = HmacSha256Hex::SHA256_PREFIXED.decode(&sig).expect("own signature decodes");
            digest[bit / 8] ^= 1 << (bit % 8);
            let tampered = format!("sha256={}", hex::encode(digest));
            prop_assert_eq!(
                HmacSha256Hex::SHA256_PREFIXED.verify(Some(&tampered), &body, &set),
                Err(VerifyError::Mismatch)
            );
        }
    }
}
