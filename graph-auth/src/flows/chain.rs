//! A chain of credentials tried in order.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ChainAttempt;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// Tries credentials in order. A credential that is [unavailable](AuthError::is_unavailable)
/// passes to the next; any other failure stops the chain (a wrong secret must not silently
/// fall through to another identity). The error lists why each tried credential failed.
///
/// ```
/// use msgraph_typed_auth::{ChainedTokenCredential, EnvironmentCredential, TokenCredential, TokenRequest};
/// use std::sync::Arc;
///
/// # async fn demo() {
/// let chain = ChainedTokenCredential::new(vec![
///     Arc::new(EnvironmentCredential::new()) as Arc<dyn TokenCredential>,
/// ]);
/// if let Err(e) = chain.get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"])).await {
///     for attempt in e.chain_attempts() {
///         eprintln!("{}: {}", attempt.credential, attempt.error);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ChainedTokenCredential {
    credentials: Vec<Arc<dyn TokenCredential>>,
}

impl ChainedTokenCredential {
    /// A chain of `credentials`, tried first to last.
    pub fn new(credentials: Vec<Arc<dyn TokenCredential>>) -> Self {
        Self { credentials }
    }
}

fn name_of(credential: &dyn TokenCredential) -> String {
    // The Debug output starts with the type name; keep only that (no field values).
    let shown = format!("{credential:?}");
    shown
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("credential")
        .to_string()
}

#[async_trait]
impl TokenCredential for ChainedTokenCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let mut attempts = Vec::new();
        for credential in &self.credentials {
            match credential.get_token(request).await {
                Ok(token) => return Ok(token),
                Err(error) => {
                    let stop = !error.is_unavailable();
                    attempts.push(ChainAttempt {
                        credential: name_of(credential.as_ref()),
                        error,
                    });
                    if stop {
                        break;
                    }
                }
            }
        }
        Err(AuthError::Chain(attempts))
    }

    /// Binds every credential of the chain; the first that refuses stops it.
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.credentials
            .iter()
            .try_for_each(|credential| credential.bind(environment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticTokenCredential;
    use std::time::{Duration, SystemTime};

    #[derive(Debug)]
    struct Failing(AuthError);

    #[async_trait]
    impl TokenCredential for Failing {
        async fn get_token(&self, _: &TokenRequest) -> Result<AccessToken, AuthError> {
            Err(self.0.clone())
        }
    }

    #[tokio::test]
    async fn unavailable_passes_on_and_errors_list_every_attempt() {
        let token = AccessToken::new("t", SystemTime::now() + Duration::from_secs(3600));
        let chain = ChainedTokenCredential::new(vec![
            Arc::new(Failing(AuthError::Unavailable("no env".into()))),
            Arc::new(StaticTokenCredential::new(token)),
        ]);
        assert_eq!(
            chain
                .get_token(&TokenRequest::new(["s"]))
                .await
                .unwrap()
                .secret(),
            "t"
        );

        let chain = ChainedTokenCredential::new(vec![
            Arc::new(Failing(AuthError::Unavailable("no env".into()))),
            Arc::new(Failing(AuthError::Configuration("bad key".into()))),
            Arc::new(Failing(AuthError::Unavailable("never tried".into()))),
        ]);
        let error = chain
            .get_token(&TokenRequest::new(["s"]))
            .await
            .unwrap_err();
        assert_eq!(error.chain_attempts().len(), 2);
        let shown = error.to_string();
        assert!(
            shown.contains("[Failing] credential unavailable: no env"),
            "{shown}"
        );
        assert!(
            shown.contains("bad key") && !shown.contains("never tried"),
            "{shown}"
        );
    }
}
