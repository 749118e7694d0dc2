//! Verified identity: a site that configures a secret accepts who a visitor says they are
//! only with proof made on the site's server — `user_hash`, the hex HMAC-SHA256 of the
//! user id under the secret, or a short-lived HS256 JWT signed with it (`sub`, `exp`,
//! optional `name` and `email`). Pure: the clock is passed in.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use porchlight_protocol::{Identity, IdentityProblem, KnownIdentity};
use serde::Deserialize;
use sha2::Sha256;

/// The longest a token may still have to live: a token valid for longer is not
/// "short-lived" and is refused.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// Why an identity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("this site verifies identities: send user_hash or jwt")]
    NoProof,
    #[error("user_hash does not match user_id")]
    WrongHash,
    #[error("the identity token is not a valid HS256 token of this site: {0}")]
    BadToken(String),
    #[error("the identity token has no sub (the user id)")]
    NoSubject,
    #[error("the identity token names user {token}, not {claimed}")]
    OtherSubject { token: String, claimed: String },
    #[error("the identity token has no exp")]
    NoExpiry,
    #[error("the identity token expired")]
    Expired,
    #[error(
        "the identity token lives longer than {MAX_TOKEN_LIFETIME_SECS} s; issue short-lived ones"
    )]
    TooLongLived,
    #[error("the identity is malformed: {0}")]
    Malformed(#[from] IdentityProblem),
}

/// What the server makes of the identity a `hello` carries: without a secret, the identity
/// as claimed, unverified; with one, verified by its token (whose `name` and `email`, being
/// signed, win over the claimed ones) or its `user_hash`, or refused.
pub fn judge(
    secret: Option<&[u8]>,
    identity: &Identity,
    now_secs: u64,
) -> Result<KnownIdentity, IdentityError> {
    identity.check()?;
    let Some(secret) = secret else {
        return Ok(identity.known(false));
    };
    let mut known = identity.known(true);
    if let Some(jwt) = &identity.jwt {
        let claims = check_token(secret, jwt, Some(&identity.user_id), now_secs)?;
        known.name = claims.name.or(known.name);
        known.email = claims.email.or(known.email);
        // Signed values are bounded like claimed ones.
        let mut signed = Identity::new(known.user_id.clone());
        signed.name = known.name.clone();
        signed.email = known.email.clone();
        signed.check()?;
    } else if let Some(hash) = &identity.user_hash {
        check_user_hash(secret, &identity.user_id, hash)?;
    } else {
        return Err(IdentityError::NoProof);
    }
    Ok(known)
}

/// Seconds since the Unix epoch, for judging tokens.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a token says, once its signature is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    pub sub: Option<String>,
    pub exp: Option<u64>,
    pub name: Option<String>,
    pub email: Option<String>,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
}

/// The `user_hash` the site's server computes for `user_id`: lowercase hex.
pub fn user_hash(secret: &[u8], user_id: &str) -> String {
    let mut mac = mac(secret);
    mac.update(user_id.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `hash` (hex, either case) is `user_id`'s, compared in constant time.
pub fn check_user_hash(secret: &[u8], user_id: &str, hash: &str) -> Result<(), IdentityError> {
    let bytes = hex(hash).ok_or(IdentityError::WrongHash)?;
    let mut mac = mac(secret);
    mac.update(user_id.as_bytes());
    mac.verify_slice(&bytes)
        .map_err(|_| IdentityError::WrongHash)
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `token`'s HS256 signature under `secret`; its claims, not yet judged.
pub fn token_claims(secret: &[u8], token: &str) -> Result<TokenClaims, IdentityError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Time is judged by [`check_token`] with the clock it is given.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
        .map_err(|e| IdentityError::BadToken(e.to_string()))
}

/// A token that is the site's, for `user_id` (when given), alive at `now_secs` and for no
/// longer than [`MAX_TOKEN_LIFETIME_SECS`].
pub fn check_token(
    secret: &[u8],
    token: &str,
    user_id: Option<&str>,
    now_secs: u64,
) -> Result<TokenClaims, IdentityError> {
    let claims = token_claims(secret, token)?;
    let sub = claims.sub.as_deref().ok_or(IdentityError::NoSubject)?;
    if let Some(claimed) = user_id
        && claimed != sub
    {
        return Err(IdentityError::OtherSubject {
            token: sub.to_string(),
            claimed: claimed.to_string(),
        });
    }
    let exp = claims.exp.ok_or(IdentityError::NoExpiry)?;
    if exp <= now_secs {
        return Err(IdentityError::Expired);
    }
    if exp - now_secs > MAX_TOKEN_LIFETIME_SECS {
        return Err(IdentityError::TooLongLived);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            user_hash(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 1: a key of twenty 0x0b bytes.
        assert_eq!(
            user_hash(&[0x0b; 20], "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn a_user_hash_is_checked_in_either_case_and_a_forged_one_refused() {
        let good = user_hash(b"site secret", "user-42");
        assert_eq!(check_user_hash(b"site secret", "user-42", &good), Ok(()));
        assert_eq!(
            check_user_hash(b"site secret", "user-42", &good.to_uppercase()),
            Ok(())
        );
        for forged in [
            user_hash(b"site secret", "user-43"),
            user_hash(b"another secret", "user-42"),
            "zz".repeat(32),
            good[..10].to_string(),
            String::new(),
        ] {
            assert_eq!(
                check_user_hash(b"site secret", "user-42", &forged),
                Err(IdentityError::WrongHash),
                "{forged}"
            );
        }
    }

    /// RFC 7515, appendix A.1: an HS256 JWS and its key.
    const RFC_7515_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
        eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
        dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn rfc_7515_key() -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .expect("the RFC's key")
    }

    #[test]
    fn the_rfc_7515_token_verifies_and_a_forged_one_does_not() {
        let claims = token_claims(&rfc_7515_key(), RFC_7515_TOKEN).expect("valid signature");
        assert_eq!(claims.exp, Some(1_300_819_380));
        // It has no sub, so it cannot identify anybody.
        assert_eq!(
            check_token(&rfc_7515_key(), RFC_7515_TOKEN, None, 1_300_819_000),
            Err(IdentityError::NoSubject)
        );
        let mut forged = RFC_7515_TOKEN.to_string();
        forged.pop();
        forged.push('Y');
        assert!(matches!(
            token_claims(&rfc_7515_key(), &forged),
            Err(IdentityError::BadToken(_))
        ));
        assert!(matches!(
            token_claims(b"another key", RFC_7515_TOKEN),
            Err(IdentityError::BadToken(_))
        ));
    }

    fn token(secret: &[u8], claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("encode")
    }

    #[test]
    fn a_token_must_name_the_user_and_live_briefly() {
        let now = 1_800_000_000;
        let secret = b"site secret";
        let good = token(
            secret,
            serde_json::json!({"sub": "user-42", "exp": now + 600, "name": "Ada"}),
        );
        let claims = check_token(secret, &good, Some("user-42"), now).expect("valid");
        assert_eq!(claims.name.as_deref(), Some("Ada"));
        assert_eq!(
            check_token(secret, &good, Some("user-43"), now),
            Err(IdentityError::OtherSubject {
                token: "user-42".into(),
                claimed: "user-43".into()
            })
        );
        assert_eq!(
            check_token(secret, &good, None, now + 600),
            Err(IdentityError::Expired)
        );
        let forever = token(secret, serde_json::json!({"sub": "u", "exp": now + 86_401}));
        assert_eq!(
            check_token(secret, &forever, None, now),
            Err(IdentityError::TooLongLived)
        );
        let timeless = token(secret, serde_json::json!({"sub": "u"}));
        assert_eq!(
            check_token(secret, &timeless, None, now),
            Err(IdentityError::NoExpiry)
        );
        let none_alg = format!(
            "{}.{}.",
            "eyJhbGciOiJub25lIn0",
            good.split('.').nth(1).expect("payload")
        );
        assert!(matches!(
            check_token(secret, &none_alg, None, now),
            Err(IdentityError::BadToken(_))
        ));
    }
}
